"""Every connector's recorded scenarios, with the account and credentials each one needs.

Shared by the canary test (tests/test_secrets.py) and the fault suite (tests/test_fault_suite.py).
A connector's new cassette must be added here: tests/test_secrets.py fails until it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from models.tables import RegisteredAccount

# Unique and shaped like no real token: only the known-secret scrubbing can hide them.
CANARIES = {
    "X_BEARER_TOKEN": "canaryXbearer4Jd81kQz0PwV",
    "X_CONSUMER_KEY": "canaryXconsumer9Ls2",
    "X_CONSUMER_SECRET": "canaryXconsumerSecret3Mf7",
    "X_ACCESS_TOKEN": "canaryXaccess5Tg0",
    "X_ACCESS_TOKEN_SECRET": "canaryXaccessSecret8Kb1",
    "FACEBOOK_APP_ID": "100000000000042",
    "FACEBOOK_APP_SECRET": "canaryFbAppSecret6Wq3",
    "FACEBOOK_ACCESS_TOKEN": "canaryFbAccess2Hy8",
    "YOUTUBE_API_KEY": "canaryYtKey7Rn4",
    "YOUTUBE_CLIENT_SECRET": "canaryYtClientSecret1Pv6",
    "YOUTUBE_REFRESH_TOKEN": "canaryYtRefresh0Zc5",
    "YOUTUBE_CLIENT_ID": "000000000000-canary0client0id.apps.googleusercontent.com",
    "AUDITOR_HMAC_KEY": "canaryHmacKey5Xe2",
}
NOT_SECRET = {"FACEBOOK_APP_ID", "YOUTUBE_CLIENT_ID"}  # app and client ids are public


def account(
    key: str, platform: str, handle: str, platform_id: str | None = None, audience: str = "public"
) -> RegisteredAccount:
    return RegisteredAccount(
        key=key,
        platform=platform,
        connector=platform,
        handle=handle,
        platform_id=platform_id,
        school="Division Office",
        purpose="Division news",
        kind="joint",
        audience=audience,
    )


@dataclass
class Scenario:
    platform: str
    cassette: str
    account: RegisteredAccount
    env: dict[str, str] = field(default_factory=dict)  # per-account credentials (canaries too)
    unset: tuple[str, ...] = ()  # credentials this scenario runs without
    public: dict[str, str] = field(default_factory=dict)  # per-account settings that are not secret
    # A nightly (incremental) scenario: the previous run's cursor and the participant keys it stored.
    cursor: dict[str, str] = field(default_factory=dict)
    known: frozenset[str] = frozenset()
    # A discovery scenario replays the connector's lookup of these handles, or its search for this query,
    # instead of a pull.
    lookup: tuple[str, ...] = ()
    search: str | None = None
    # A personal-connections scenario replays the read of whom this personal account follows (opt-in).
    following: str | None = None


PHRD = account("phrd-x", "twitter", "@PrairieHillsSD", "2931447021")
# followers_multipage.yaml's five followers, and the cursor its run left, three days before the nightly ones.
PHRD_FOLLOWERS = frozenset(
    f"twitter:id:{i}"
    for i in ("1501184455321219073", "1287744519283040256", "883209174", "1622310298847555584", "1398401122766041089")
)
PHRD_NIGHTLY = {
    "full_reconciled_at": "2026-11-12T06:00:00+00:00",
    "followers_count": "5",
    "tweet_count": "1873",
    "since_id": "2121120875934646272",
    "mentions_since_id": "2121483263800246272",
}
SCENARIOS = [
    Scenario("twitter", "followers_multipage.yaml", PHRD),
    Scenario("twitter", "followers_incremental.yaml", PHRD, cursor=PHRD_NIGHTLY, known=PHRD_FOLLOWERS),
    Scenario("twitter", "followers_incremental_busy.yaml", PHRD, cursor=PHRD_NIGHTLY, known=PHRD_FOLLOWERS),
    Scenario("twitter", "followers_forbidden.yaml", PHRD),
    Scenario("twitter", "rate_limited.yaml", PHRD),
    Scenario("twitter", "server_error.yaml", PHRD),
    Scenario("twitter", "unauthorized.yaml", PHRD),
    Scenario("twitter", "usage_capped.yaml", PHRD),
    Scenario("twitter", "protected_no_token.yaml", account("hhs-band-x", "twitter", "@HHSBand")),
    Scenario("twitter", "suspended_account.yaml", account("hhs-spirit-x", "twitter", "@HHS_Spirit_Old")),
    Scenario("twitter", "discovery_school_account.yaml", account("hhs-news-x", "twitter", "@HillsideHS_News")),
    Scenario(
        "twitter",
        "personal_following.yaml",
        account("hhs-news-x", "twitter", "@HillsideHS_News"),
        following="dokafor_home",
    ),
    Scenario(
        "twitter",
        "discovery_lookup.yaml",
        account("hhs-news-x", "twitter", "@HillsideHS_News"),
        lookup=("HHS_Spirit_Old", "HawksChess", "HillsideHighHQ"),
    ),
    Scenario(
        "twitter",
        "protected_account.yaml",
        account("hhs-chess-x", "twitter", "@HHSChessClub", "1459920177384452099", audience="closed"),
        {"ACCOUNT_HHS_CHESS_X_X_USER_TOKEN": "canaryOwnerToken4Qa9"},
    ),
    Scenario(
        "facebook",
        "business_page.yaml",
        account("rbe-business-page", "facebook", "", "108000000000201"),
        {"ACCOUNT_RBE_BUSINESS_PAGE_FACEBOOK_PAGE_TOKEN": "canaryPageToken8Jd2"},
        public={"ACCOUNT_RBE_BUSINESS_PAGE_FACEBOOK_BUSINESS_ID": "190000000000042"},
    ),
    Scenario("facebook", "classic_page.yaml", account("hhs-drama-fb", "facebook", "", "108000000000202")),
    Scenario(
        "facebook",
        "permission_error.yaml",
        account("hhs-athletics-fb", "facebook", "", "108000000000203"),
        {"ACCOUNT_HHS_ATHLETICS_FB_FACEBOOK_PAGE_TOKEN": "canaryPageToken3Xw5"},
    ),
    Scenario("facebook", "token_password_changed.yaml", account("rbe-library-fb", "facebook", "", "108000000000204")),
    Scenario("facebook", "throttled.yaml", account("hhs-robotics-fb", "facebook", "", "108000000000205")),
    Scenario("instagram", "clean_account.yaml", account("hhs-art-ig", "instagram", "", "17841460000000101")),
    Scenario("instagram", "staff_reply_to_student.yaml", account("hhs-main-ig", "instagram", "", "17841460000000102")),
    Scenario("instagram", "outsider_comment.yaml", account("rbe-main-ig", "instagram", "", "17841460000000103")),
    Scenario("instagram", "confidential_post.yaml", account("hhs-counsel-ig", "instagram", "", "17841460000000104")),
    Scenario(
        "instagram",
        "paging.yaml",
        account("hhs-sports-ig", "instagram", "", "17841460000000105"),
        {"ACCOUNT_HHS_SPORTS_IG_INSTAGRAM_TOKEN": "canaryIgToken7Rm2"},
    ),
    Scenario("instagram", "revoked_token.yaml", account("hhs-band-ig", "instagram", "", "17841460000000106")),
    Scenario("instagram", "throttled.yaml", account("hhs-robotics-ig", "instagram", "", "17841460000000107")),
    *[
        Scenario(
            "youtube",
            cassette,
            account("hhs-science-yt", "youtube", "", channel),
            {"ACCOUNT_HHS_SCIENCE_YT_YOUTUBE_REFRESH_TOKEN": "canaryYtOwnerRefresh6Mm1"} if owner else {},
            unset=() if key else ("YOUTUBE_API_KEY",),
        )
        for cassette, channel, owner, key in [
            ("channel-full.yaml", "UChhsScienceClub0000000A", True, True),
            ("quota-exceeded.yaml", "UChhsScienceClub0000000A", False, True),
            ("transient-errors.yaml", "UChhsChessClub000000000C", False, True),
            ("comments-disabled.yaml", "UCrbeStoryTime00000000K1", False, True),
            ("invalid-credentials.yaml", "UChhsScienceClub0000000A", True, False),
            ("owner-token-revoked.yaml", "UChhsChessClub000000000C", True, True),
            ("owner-of-another-channel.yaml", "UChhsChessClub000000000C", True, True),
            ("channel-not-found.yaml", "UCdeletedChannel00000000", False, True),
        ]
    ],
    Scenario("youtube", "discovery-search.yaml", account("hhs-media-yt", "youtube", ""), search="Hillside High School"),
    # Websites need no credential: these prove the canaries of every other connector stay out of them too.
    *[
        Scenario("web", cassette, account("hhs-news-web", "web", handle, how))
        for cassette, handle, how in [
            ("wordpress-site.yaml", "https://hhsnews.phrd.ab.ca", "wordpress"),
            ("wordpress-paged.yaml", "https://hhsnews.phrd.ab.ca", "wordpress"),
            ("wordpress-forbidden.yaml", "https://hhsnews.phrd.ab.ca", "wordpress"),
            ("wordpress-transient.yaml", "https://hhsnews.phrd.ab.ca", "wordpress"),
            ("wordpress-no-api.yaml", "https://www.hillside.phrd.ab.ca", "wordpress"),
            ("feed-rss.yaml", "https://hhsnews.phrd.ab.ca/feed/", "feed"),
            ("feed-malformed.yaml", "https://hhsnews.phrd.ab.ca/feed/", "feed"),
            ("feed-not-a-feed.yaml", "https://hhsnews.phrd.ab.ca/feed/", "feed"),
            ("feed-atom.yaml", "https://hhsdrama.blogspot.com/feeds/posts/default", "feed"),
        ]
    ],
]
