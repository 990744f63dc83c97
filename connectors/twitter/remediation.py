"""Where on X each rule's fix is done, filled by the core with the finding's values.

Placeholders: {handle}, {account} (the registry key), {person} (who the finding is about, by name and
directory id), {its_admin}, {principal}, {school}. Keys are rule ids, or `rule:subject`.
X shows no delegates through its API: the place below is the web app's.
"""

from __future__ import annotations

DELEGATE = "Settings and privacy → Security and account access → Delegate → Members"
PASSWORD = "Settings and privacy → Your account → Change your password"

REMEDIATION: dict[str, str] = {
    "admin-not-active-staff": (
        f"Signed in to X as {{handle}}, open {DELEGATE} and remove {{person}}, then change the password "
        f"({PASSWORD}). If {{person}} is in fact active staff, correct the directory."
    ),
    "too-few-staff-admins": (
        f"Signed in to X as {{handle}}, open {DELEGATE} and invite active staff with the Admin role until at "
        "least two besides ITS hold it; list them under admins in the registry entry {account}."
    ),
    "its-admin-missing": (
        f"Signed in to X as {{handle}}, open {DELEGATE} and invite the ITS administrator {{its_admin}} with the "
        "Admin role; record it as its_admin in the registry entry {account}."
    ),
    "departed-staff-account-active": (
        "Deactivate the X account {handle} of {person} (Settings and privacy → Your account → Deactivate your "
        "account), mark the registry entry {account} disabled, and establish a new account for the replacement."
    ),
    "password-not-reset-after-departure": (
        f"Signed in to X as {{handle}}, change the password now ({PASSWORD}), remove {{person}} in {DELEGATE}, "
        "and record the reset date in the registry entry {account}."
    ),
    "password-reset-overdue": (
        f"Signed in to X as {{handle}}, change the password ({PASSWORD}) and record the reset date in the "
        "registry entry {account}."
    ),
    "shared-individual-account": (
        f"Signed in to X as {{handle}}, remove everyone but the registered holder in {DELEGATE} and give them "
        "their own accounts, or re-register {account} as a joint account."
    ),
    "non-school-participant": (
        "On the protected X account {handle}, open Followers and remove {person} (··· → Remove this follower), "
        "or add them to the directory if they belong to the school body."
    ),
    "non-school-participant:summary": (
        "Review who follows the public X account {handle}; to limit it to the school body, protect its posts "
        "(Settings and privacy → Privacy and safety → Audience and tagging → Protect your posts) and register "
        "{account} as closed."
    ),
    "confidential-content": (
        "Signed in to X as {handle}, delete the post (··· → Delete), change any password it exposed, and tell "
        "the people whose information was shown."
    ),
}
