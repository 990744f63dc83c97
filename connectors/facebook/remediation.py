"""Where on Facebook each rule's fix is done, for a Page, filled by the core with the finding's values.

Placeholders: {handle} (the Page), {account} (the registry key), {person} (who the finding is about,
by name and directory id), {its_admin}, {principal}, {school}. Keys are rule ids, or `rule:subject`.
"""

from __future__ import annotations

PAGE_ACCESS = "Settings → Page access (for a Page in a business portfolio: Business portfolio → Pages → People)"

REMEDIATION: dict[str, str] = {
    "admin-not-active-staff": (
        f"On the Facebook Page {{handle}}, open {PAGE_ACCESS} and remove {{person}}; if the Page is run "
        "from a shared login, change its password too. If {person} is in fact active staff, correct the directory."
    ),
    "too-few-staff-admins": (
        f"On the Facebook Page {{handle}}, open {PAGE_ACCESS} → Add New and give active staff Facebook access "
        "with full control until at least two besides ITS hold it; list them under admins in the registry "
        "entry {account}."
    ),
    "its-admin-missing": (
        f"On the Facebook Page {{handle}}, open {PAGE_ACCESS} and give the ITS administrator identity "
        "{its_admin} Facebook access with full control; record it as its_admin in the registry entry {account}."
    ),
    "departed-staff-account-active": (
        "Deactivate the Facebook Page {handle} held by {person} (Settings → Privacy → Facebook Page information "
        "→ Deactivation and deletion), mark the registry entry {account} disabled, and establish a new Page "
        "for the replacement."
    ),
    "password-not-reset-after-departure": (
        f"On the Facebook Page {{handle}}, remove {{person}} in {PAGE_ACCESS}, change the password of the login "
        "the Page's staff share (Accounts Center → Password and security → Change password), and record the "
        "reset date in the registry entry {account}."
    ),
    "password-reset-overdue": (
        "Change the password of the login used for the Facebook Page {handle} (Accounts Center → Password and "
        "security → Change password) and record the reset date in the registry entry {account}."
    ),
    "shared-individual-account": (
        f"On the Facebook Page {{handle}}, keep only its registered holder in {PAGE_ACCESS} and give everyone "
        "else their own account, or re-register {account} as a joint account."
    ),
    "confidential-content": (
        "On the Facebook Page {handle}, open the post or comment (··· → Edit post, or Delete), remove the "
        "confidential information, change any password it exposed, and tell the people whose information was shown."
    ),
}
