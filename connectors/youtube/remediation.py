"""Where on YouTube each rule's fix is done, filled by the core with the finding's values.

Placeholders: {handle}, {account} (the registry key), {person} (who the finding is about, by name and
directory id), {its_admin}, {principal}, {school}. Keys are rule ids, or `rule:subject`.
Channel permissions are not in the Data API: the place below is YouTube Studio's.
"""

from __future__ import annotations

PERMISSIONS = "YouTube Studio → Settings → Permissions"
PASSWORD = "the owning Google account's myaccount.google.com → Security → Password"

REMEDIATION: dict[str, str] = {
    "admin-not-active-staff": (
        f"For the channel {{handle}}, open {PERMISSIONS} and remove {{person}} (for a Brand Account channel, "
        "also under the Brand Account's Manage permissions). If {person} is in fact active staff, correct the "
        "directory."
    ),
    "too-few-staff-admins": (
        f"For the channel {{handle}}, open {PERMISSIONS} → Invite and give active staff the Manager role until "
        "at least two besides ITS hold it; list them under admins in the registry entry {account}."
    ),
    "its-admin-missing": (
        f"For the channel {{handle}}, open {PERMISSIONS} → Invite and give the ITS administrator {{its_admin}} "
        "the Manager role; record it as its_admin in the registry entry {account}."
    ),
    "departed-staff-account-active": (
        "Hide the channel {handle} of {person} (YouTube Studio → Settings → Channel → Advanced settings → "
        "Remove YouTube content), mark the registry entry {account} disabled, and establish a new channel for "
        "the replacement."
    ),
    "password-not-reset-after-departure": (
        f"For the channel {{handle}}, change the password ({PASSWORD}), remove {{person}} in {PERMISSIONS}, "
        "and record the reset date in the registry entry {account}."
    ),
    "password-reset-overdue": (
        f"For the channel {{handle}}, change the password ({PASSWORD}) and record the reset date in the "
        "registry entry {account}."
    ),
    "shared-individual-account": (
        f"For the channel {{handle}}, keep only the registered holder in {PERMISSIONS} and give everyone else "
        "their own channel, or re-register {account} as a joint account."
    ),
    "confidential-content": (
        "In YouTube Studio for {handle}, open Content (a video's description) or Comments (a reply) and edit or "
        "delete it, change any password it exposed, and tell the people whose information was shown."
    ),
}
