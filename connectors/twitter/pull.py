"""One account's X pull, in order: profile, followers, posts, interactions (see followers.py and
posts.py), following the account's `FetchPlan`."""

from __future__ import annotations

from connectors.resilience import PlatformError
from connectors.twitter import parse
from connectors.twitter.endpoints import EP_USER, EP_USER_BY_NAME, JSON, PROFILE_FIELDS
from connectors.twitter.followers import FollowerReads
from connectors.twitter.posts import PostReads
from models.snapshot import Capability, ErrorKind, Profile


class AccountPull(FollowerReads, PostReads):
    """The state of one account's pull (a connector may serve several accounts at once)."""

    def run(self) -> None:
        with self.builder.collect(Capability.PROFILE):
            self.read_profile()
        try:
            self.read_the_rest()
        finally:
            self._save_cursor()  # also when skipped: the next run starts from where the last good one ended

    def read_the_rest(self) -> None:
        if self.me is None or self.me.id is None:
            self._skip_all(self._profile_error())
            return
        if self.snapshot.profile and self.snapshot.profile.closed and not self.credentials.owner_context:
            self._skip_all(
                PlatformError(
                    ErrorKind.PERMISSION,
                    f"@{self.me.handle} is a protected account: X shows its followers and posts only to the "
                    "owner and approved followers",
                    fix=self.protected_fix,
                )
            )
            return
        user_id = self.me.id
        with self.builder.collect(Capability.PARTICIPANTS):
            self.read_followers(user_id)
        with self.builder.collect(Capability.POSTS):
            self.read_posts(user_id)
        with self.builder.collect(Capability.INTERACTIONS):
            self.read_interactions(user_id)
        self._note_withheld()

    def _profile_error(self) -> PlatformError:
        status = self.snapshot.status_of(Capability.PROFILE)
        kind = status.error if status and status.error else ErrorKind.MALFORMED
        return PlatformError(kind, "not collected: the account's profile could not be read (see profile)")

    def _skip_all(self, error: PlatformError) -> None:
        for capability in (Capability.PARTICIPANTS, Capability.POSTS, Capability.INTERACTIONS):
            self.builder.record_error(str(capability), error)

    def read_profile(self) -> None:
        endpoint = self.plan.profile_endpoint
        if endpoint is None and self.prefetched is not None:
            user: JSON = self.prefetched.user  # from the run's batched lookup: no request of its own
        elif endpoint == EP_USER:
            body = self.api(EP_USER, self.client.get_user)(id=self.account.platform_id, user_fields=PROFILE_FIELDS)
            user = body["data"]
        else:
            handle = (self.account.handle or "").lstrip("@")
            body = self.api(EP_USER_BY_NAME, self.client.get_user)(username=handle, user_fields=PROFILE_FIELDS)
            user = body["data"]
        self.me = parse.identity_of(user)
        self.users.add(self.me)
        metrics = user.get("public_metrics") or {}
        protected = user.get("protected")
        self.snapshot.profile = Profile(
            id=self.me.id,
            handle=self.me.handle,
            name=self.me.display_name,
            url=self.me.url,
            closed=protected,
            description=user.get("description"),
            counts={
                name.removesuffix("_count"): int(value) for name, value in metrics.items() if isinstance(value, int)
            },
        )
        self._check_audience(protected)
        registered = (self.account.handle or "").lstrip("@")
        if registered and self.me.handle and registered.lower() != self.me.handle.lower():
            self.snapshot.notes.append(f"handle changed: registered @{registered}, observed @{self.me.handle}")

    def _check_audience(self, protected: bool | None) -> None:
        declared = (self.account.audience or "").lower()
        if protected is None or declared not in ("public", "closed"):
            return
        observed = "closed" if protected else "public"
        if observed != declared:
            self.snapshot.notes.append(
                f"audience mismatch: registered {declared}, observed {observed} "
                f"(X reports protected={str(protected).lower()})"
            )
