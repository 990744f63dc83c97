"""The Form 8-06 spreadsheet headers `auditor registry import` recognises, in a module of their own so
that the command's help can list them without importing the loader (`auditor --help` starts fast)."""

# Registry field -> the spreadsheet headers recognised for it (compared without case, spaces or punctuation).
RECOGNISED_HEADERS: dict[str, tuple[str, ...]] = {
    "key": ("Key", "Registry key", "Account key"),
    "platform": ("Platform", "Social media platform", "Site"),
    "handle": ("Account name/Handle", "Account name", "Handle", "Account handle", "Username"),
    "platform_id": ("Platform ID", "Account ID", "Page ID", "Channel ID"),
    "school": ("School", "School/Department"),
    "purpose": ("Purpose", "Purpose of account"),
    "activity": ("Activity", "Club/Activity", "Club or activity"),
    "kind": ("Individual or joint", "Individual/joint", "Account type"),
    "audience": ("Public/closed", "Public or closed", "Audience"),
    "holders": ("Holders", "Account holders", "Credential holders"),
    "admins": ("Admins", "Administrators", "Staff admins"),
    "its_admin": ("ITS admin", "ITS administrator", "ITS admin account"),
    "reviewed_by": ("Reviewed by",),
    "reviewed_on": ("Date reviewed", "Reviewed on", "Review date"),
    "approved_by": ("Approved by",),
    "approved_on": ("Date approved", "Approved on", "Approval date"),
    "password_reset_on": ("Password last reset", "Password reset on", "Last password reset", "Date password reset"),
    "status": ("Status",),
    "connector": ("Connector",),
    "export": ("Export", "Export file"),
}
