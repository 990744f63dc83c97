"""Discovery: school-looking accounts seen by registered accounts, minus registered, declared and ignored ones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor import collect
from auditor.context import RunContext
from auditor.directory import Directory
from auditor.discovery import Candidate, Sighting, apply_lookup, discover, gather_candidates, to_look_up
from auditor.inputs import Division
from auditor.policy import Policy
from auditor.rules.account_unregistered import check
from auditor.rules.base import DivisionContext
from auditor.settings import Settings
from connectors.base import FoundAccount
from connectors.registry import ConnectorRegistry
from connectors.youtube.connector import YouTubeConnector
from connectors.youtube.parse import thread_interactions
from models.db import make_engine
from models.snapshot import AccountSnapshot, Identity, Interaction, Post, Profile
from models.tables import Activity, Person, PersonIdentity, RegisteredAccount

AS_OF = datetime(2026, 11, 15, 6, tzinfo=UTC)
NEWS = RegisteredAccount(
    key="hhs-news-x",
    platform="twitter",
    connector="twitter",
    handle="@HillsideHS_News",
    platform_id="100",
    school="Hillside High School",
    purpose="news",
    kind="joint",
    audience="public",
    its_admin="@phrd_its",
)
ROBOTICS = RegisteredAccount(
    key="hhs-robotics-x",
    platform="twitter",
    connector="twitter",
    handle="@HHSRobotics",
    school="Hillside High School",
    purpose="club",
    kind="joint",
    audience="closed",
)
PARENT = Person(person_id="P1", role="parent", first_name="Linda", last_name="Kowalski")
DIRECTORY = Directory(
    people={"P1": PARENT},
    identities=[PersonIdentity(person_id="P1", platform="twitter", value="lindak_mom")],
    activities={"drama": Activity(activity_id="drama", school="Hillside High School", name="Hillside Drama Society")},
)
ME = Identity(platform="twitter", id="100", handle="HillsideHS_News", display_name="Hillside High News")


def _snapshot() -> AccountSnapshot:
    def user(handle: str, name: str, id_: str) -> Identity:
        return Identity(platform="twitter", id=id_, handle=handle, display_name=name)

    return AccountSnapshot(
        account_key="hhs-news-x",
        platform="twitter",
        taken_at=AS_OF,
        profile=Profile(id="100", handle="HillsideHS_News", description="News from Hillside High. Clubs: @HHSRobotics"),
        posts=[
            Post(
                id="1",
                author=ME,
                url="https://x.com/HillsideHS_News/status/1",
                text="Congrats to @HHS_ChessClub on the win! Tickets: https://x.com/HillsideDramaSociety",
            )
        ],
        interactions=[
            Interaction(
                kind="reply",
                actor=user("HillsideHighSch00l", "Hillside High School Official", "900"),
                text="Follow us for updates",
                url="https://x.com/HillsideHighSch00l/status/5",
            ),
            Interaction(kind="reply", actor=user("sandra_m_1975", "Sandra Miller", "901"), text="Great job kids!"),
            Interaction(kind="reply", actor=user("lindak_mom", "Linda Kowalski", "902"), text="Proud mom!"),
            Interaction(
                kind="mention",
                actor=user("RiverValleyGazette", "River Valley Gazette", "903"),
                text="Hillside wins again",
            ),
        ],
    )


def test_candidates_come_from_mentions_links_and_interactions() -> None:
    found = {c.key: c for c in gather_candidates(NEWS, _snapshot())}
    assert found["twitter:hhs_chessclub"].sightings[0].how == "mentioned"
    assert found["twitter:hillsidedramasociety"].sightings[0].how == "linked"
    assert found["twitter:hhsrobotics"].sightings[0].how == "mentioned"  # from the profile description
    assert found["twitter:hillsidehighsch00l"].sightings[0].how == "interacted"
    assert "twitter:hillsidehs_news" not in found  # the account itself


def test_scores_flag_club_and_impostor_not_parent_or_registered() -> None:
    scored = {
        c.key: c
        for c in discover(
            gather_candidates(NEWS, _snapshot()),
            [NEWS, ROBOTICS],
            DIRECTORY,
            Policy(division="Prairie Hills Regional Division"),
            [],
        )
    }
    assert "twitter:hhsrobotics" not in scored  # registered
    assert "twitter:lindak_mom" not in scored  # a directory person's own account
    threshold = Policy().discovery_threshold
    assert scored["twitter:hhs_chessclub"].score >= threshold
    assert scored["twitter:hillsidehighsch00l"].score >= threshold  # impostor using the school's name
    assert scored["twitter:hillsidedramasociety"].score >= threshold
    assert any("Hillside Drama Society" in r for r in scored["twitter:hillsidedramasociety"].reasons)
    assert scored["twitter:sandra_m_1975"].score < threshold  # a parent who merely replies
    assert scored["twitter:rivervalleygazette"].score < threshold


def test_rule_reports_evidence_and_respects_ignore_list() -> None:
    candidates = gather_candidates(NEWS, _snapshot())
    # As the registry loader passes it on: an alias (`x`) is already the connector's own name.
    ignored = [{"platform": "twitter", "handle": "@HHS_ChessClub", "reason": "retired club, account deleted"}]
    context = DivisionContext(
        accounts=[NEWS, ROBOTICS],
        directory=DIRECTORY,
        policy=Policy(),
        as_of=AS_OF,
        candidates=candidates,
        ignored=ignored,
    )
    results = {r.subject: r for r in check(context)}
    assert "twitter:hhs_chessclub" not in results
    impostor = results["twitter:hillsidehighsch00l"]
    assert impostor.account is not None and impostor.account.school == "Hillside High School"
    assert impostor.evidence["url"] == "https://x.com/HillsideHighSch00l"
    assert impostor.evidence["found"] == [
        {"account": "hhs-news-x", "how": "interacted", "url": "https://x.com/HillsideHighSch00l/status/5"}
    ]
    assert impostor.evidence["why_it_looks_like_a_school_account"]
    assert "twitter:sandra_m_1975" not in results


def _scored(policy: Policy, *extra: Candidate) -> dict[str, Candidate]:
    candidates = gather_candidates(NEWS, _snapshot()) + list(extra)
    return {c.key: c for c in discover(candidates, [NEWS, ROBOTICS], DIRECTORY, policy, [])}


def test_a_description_that_reads_like_a_persons_own_account_lowers_the_score() -> None:
    fan = Identity(platform="twitter", id="950", handle="HillsideHighFan", display_name="Hawks Fan")
    seen = [Sighting("hhs-news-x", "interacted", None)]
    policy = Policy(division="Prairie Hills Regional Division")
    before = _scored(policy, Candidate(fan, list(seen)))["twitter:hillsidehighfan"].score
    profile = Profile(id="950", name="Hawks Fan", description="Hockey mom of two. Views are my own.")
    after = _scored(policy, Candidate(fan, list(seen), profile=profile))["twitter:hillsidehighfan"]
    assert before >= policy.discovery_threshold > after.score
    assert any("person's own account" in r and "mom" in r for r in after.reasons)


def test_lookups_go_to_named_or_school_like_candidates_never_to_a_parent_who_replies() -> None:
    policy = Policy(division="Prairie Hills Regional Division", discovery_lookup_floor=20)
    chosen = [c.key for c in to_look_up(_scored(policy).values(), policy)["twitter"]]
    assert "twitter:hhs_chessclub" in chosen  # mentioned by the school account
    assert "twitter:hillsidehighsch00l" in chosen  # replies, but its name alone scores above the floor
    assert "twitter:sandra_m_1975" not in chosen and "twitter:rivervalleygazette" not in chosen
    assert chosen == sorted(chosen, key=lambda k: -_scored(policy)[k].score)  # most school-like first
    capped = Policy(division="Prairie Hills Regional Division", discovery_max_lookups=1)
    assert len(to_look_up(_scored(capped).values(), capped)["twitter"]) == 1


def test_a_handle_the_platform_says_is_suspended_is_no_longer_a_candidate() -> None:
    policy = Policy(division="Prairie Hills Regional Division")
    candidates = gather_candidates(NEWS, _snapshot())
    updated = apply_lookup(candidates, "twitter", [FoundAccount("HHS_ChessClub", None, "User has been suspended")])
    assert updated == 1
    scored = {c.key for c in discover(candidates, [NEWS, ROBOTICS], DIRECTORY, policy, [])}
    assert "twitter:hhs_chessclub" not in scored and "twitter:hillsidehighsch00l" in scored


# --- names alone: a shared word counts once; a commenter nobody can look up stays below ----------


def test_a_word_the_school_and_the_division_share_counts_once() -> None:
    """'Prairie Hills' names both the school and the Division: a hockey page using it is one hit, not two."""
    school = NEWS.model_copy(update={"school": "Prairie Hills High School"})
    policy = Policy(division="Prairie Hills School Division")
    hockey = Identity(platform="twitter", id="960", handle="PrairieHillsHockey", display_name="Prairie Hills Hockey")
    profile = Profile(id="960", handle="PrairieHillsHockey", name="Prairie Hills Hockey", description="Scores.")
    seen = [Sighting("hhs-news-x", "interacted", None)]

    [scored] = discover([Candidate(hockey, seen, profile=profile)], [school], DIRECTORY, policy, [])

    assert scored.score == 45.0 < policy.discovery_threshold
    assert scored.reasons == ["name contains hills, prairie (Prairie Hills High School)"]


MEDIA = RegisteredAccount(
    key="hhs-media-yt",
    platform="youtube",
    connector="youtube",
    platform_id="UChhsMediaClass0000000M1",
    school="Hillside High School",
    purpose="Media class videos",
    kind="joint",
    audience="public",
    its_admin="UCphrdIts000000000000001",
)


def _youtube_comment(channel_id: str, handle: str, text: str) -> dict[str, object]:
    """A commentThreads item as YouTube returns it (shape of the real recordings), by a channel shown by handle."""
    return {
        "kind": "youtube#commentThread",
        "id": f"Ugz{channel_id[2:12]}AaABAg",
        "snippet": {
            "videoId": "F1UP7wRCPH8",
            "topLevelComment": {
                "kind": "youtube#comment",
                "id": f"Ugz{channel_id[2:12]}AaABAg",
                "snippet": {
                    "authorDisplayName": f"@{handle}",
                    "authorChannelUrl": f"http://www.youtube.com/@{handle}",
                    "authorChannelId": {"value": channel_id},
                    "videoId": "F1UP7wRCPH8",
                    "textDisplay": text,
                    "textOriginal": text,
                    "publishedAt": "2026-11-10T15:51:44Z",
                    "updatedAt": "2026-11-10T15:51:44Z",
                },
            },
            "canReply": True,
            "totalReplyCount": 0,
            "isPublic": True,
        },
    }


def _youtube_division_findings(description: str) -> dict[str, Any]:
    """The channel's video comments and description through the run's discovery and the rule."""
    channel = Identity(platform="youtube", id=MEDIA.platform_id, handle="hhsmedia", display_name="HHS Media")
    comments = [
        _youtube_comment("UCprairieHillsDivSport01", "PrairieHillsDivisionSports", "Go Prairie Hills!"),
        _youtube_comment("UChillsideHighRobotics01", "HillsideHighRoboticsClub", "Our robot is in this one!"),
    ]
    snapshot = AccountSnapshot(
        account_key=MEDIA.key,
        platform="youtube",
        taken_at=AS_OF,
        profile=Profile(id=MEDIA.platform_id, handle="hhsmedia", name="HHS Media"),
        posts=[
            Post(id="F1UP7wRCPH8", author=channel, text=description, url="https://www.youtube.com/watch?v=F1UP7wRCPH8")
        ],
        interactions=[i for thread in comments for i in thread_interactions(thread, [], channel)],
    )
    policy = Policy(division="Prairie Hills Regional Division")
    division = Division(folder=Path("."), accounts=[MEDIA], people=[], identities=[], activities=[], policy=policy)
    ctx = RunContext.start(
        division, Settings(), make_engine("sqlite:///:memory:"), ConnectorRegistry([YouTubeConnector]), AS_OF
    )
    outcome = collect.AccountOutcome("youtube", False, {}, 0, [], gather_candidates(MEDIA, snapshot, ctx.connectors))
    candidates, discovered = collect.discover(ctx, {MEDIA.key: outcome})
    context = DivisionContext(
        accounts=[MEDIA],
        directory=division.directory(),
        policy=policy,
        as_of=AS_OF,
        candidates=candidates,
        ignored=[],
        discovered=discovered,
    )
    return {r.subject: r for r in check(context)}


def test_a_fan_channel_named_after_the_division_that_only_comments_is_not_found() -> None:
    """YouTube offers no profile lookup: a commenter's name is all there is, and anyone may name a channel so."""
    found = _youtube_division_findings("Our media class at the fall concert.")

    assert "youtube:prairiehillsdivisionsports" not in found
    assert "youtube:hillsidehighroboticsclub" not in found  # only commenting, too: its name alone is not enough


def test_a_club_channel_the_school_links_is_still_found() -> None:
    found = _youtube_division_findings(
        "Filmed with our robotics club: https://www.youtube.com/@HillsideHighRoboticsClub"
    )

    club = found["youtube:hillsidehighroboticsclub"]
    assert club.evidence["score"] >= Policy().discovery_threshold
    assert "name contains hillside (Hillside High School)" in club.evidence["why_it_looks_like_a_school_account"]
    assert "youtube:prairiehillsdivisionsports" not in found
