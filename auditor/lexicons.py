"""Default word lists of the conduct rules; a division's policy.yaml replaces any of them.

They are defaults, not the policy itself: `conduct.lexicon`, `conduct.idioms` and the `personal_use`
lists in policy.yaml override them (docs/rules.md). Kept short and school-specific on purpose: the
classifier (alt-profanity-check) covers general profanity; the lexicon adds the disparaging words it
scores low ("incompetent", "clown") and the idioms keep sports and school praise from firing.
"""

from __future__ import annotations

# Disparaging words aimed at people: whole words, case-insensitive.
DISPARAGING_TERMS: tuple[str, ...] = (
    "idiot",
    "idiots",
    "idiotic",
    "moron",
    "morons",
    "imbecile",
    "dumb",
    "dumbest",
    "stupid",
    "stupidest",
    "loser",
    "losers",
    "pathetic",
    "incompetent",
    "clown",
    "clowns",
    "lazy",
    "useless",
    "worthless",
    "brainless",
    "hopeless case",
    "shut up",
    "ugly",
    "freak",
    "freaks",
    "airhead",
    "crybaby",
    "disgrace",
    "trash",
    "garbage",
    # mild profanity the classifier scores below its threshold
    "damn",
    "crap",
    "crappy",
    "crappiest",
    "pissed",
    "screw you",
    "screw the",
    "the hell",
    "f***",
    "sh*t",
)

# Regular expressions (case-insensitive) removed from a text before it is scored: praise and sports talk
# that a profanity model or the lexicon would read as violence or insult.
SCHOOL_IDIOMS: tuple[str, ...] = (
    r"\b(?:killed|killing|kill) it\b",
    r"\bkiller\b",
    r"\b(?:crushed|crushing|crush|smashed|smashing|smash|destroyed|destroying|demolished|dominated|"
    r"slaughtered|murdered|annihilated|obliterated|trounced|torched|roasted|shut out|blew out|beat|"
    r"beating|beaten|whooped|thrashed|hammered) (?:it|them|the\b[\w\s'-]{0,40}?|our\b[\w\s'-]{0,40}?|"
    r"every\w*|all\b[\w\s'-]{0,20}?|their\b[\w\s'-]{0,40}?|[A-Z]\w+(?: [A-Z]\w+)*)(?=[\s.,!?:;]|$)",
    r"\bsick (?:moves|dunk|goal|save|shot|play|pass|trick|beat|solo)\b",
    r"\bdead(?:ly)? (?:tired|serious|accurate|eye)\b",
    r"\bdying (?:to|of laughter)\b",
    r"\b(?:shoot|shooting|shot|shots) (?:for|from|on|at) (?:goal|the net|the hoop|the basket|the stars)\b",
    r"\b(?:break|broke) a leg\b",
    r"\bfight song\b",
    r"\b(?:beast|beast mode|savage|insane|crazy|nuts|wicked|ridiculous|unreal|filthy)\b",
    r"\bbomb(?:ed)? (?:the|that|a)? ?(?:test|quiz|exam)\b",
    r"\bfat tuesday\b",
    r"\bshut (?:up )?shop\b",
    r"\bshut ?out\b",
    r"\bstupid(?:ly)? (?:good|fast|fun|cold)\b",
    r"\b(?:trash|garbage) (?:pick-?up|bags?|cans?|bins?|day|clean-?up|free)\b",
    r"\b(?:recycling|compost) and (?:trash|garbage)\b",
    r"\bclowns? (?:show|act|costume|nose|fish)s?\b",
    r"\bclass clown\b",
    r"\bugly (?:sweater|christmas sweater|duckling)s?\b",
    r"\bdumb(?:bell|bells|founded| waiter)\b",
    r"\blazy (?:river|susan|sunday|days? of summer)\b",
    r"\b(?:take|took|taking|takes) out the (?:trash|garbage)\b",
)

# personal-use: where links to personal fundraising, shops and paid promotion go.
FUNDRAISER_DOMAINS: tuple[str, ...] = (
    "gofundme.com",
    "paypal.me",
    "venmo.com",
    "cash.app",
    "patreon.com",
    "kickstarter.com",
    "indiegogo.com",
    "ko-fi.com",
    "buymeacoffee.com",
    "fundrazr.com",
)
SHOP_DOMAINS: tuple[str, ...] = (
    "etsy.com",
    "shopify.com",
    "myshopify.com",
    "amzn.to",
    "linktr.ee",
    "poshmark.com",
    "depop.com",
    "redbubble.com",
    "teespring.com",
)
# Election and campaign phrases (regular expressions, case-insensitive).
CAMPAIGN_PHRASES: tuple[str, ...] = (
    r"\bvote (?:for )?(?:me|my)\b",
    r"\b(?:re-?elect|elect) (?-i:[A-Z])\w+ (?-i:[A-Z])\w+",  # "Re-elect Jane Smith", a person's name
    r"\bmy (?:campaign|candidacy|re-?election)\b",
    r"\b(?:i am|i'm|i have decided to|announcing my|proud to announce i'm) (?:running|a candidate) for\b",
    r"\brunning for (?:city council|council|mayor|trustee|school board|mla|mp|office|parliament|alderman)\b",
    r"\b(?:sign|signed) my (?:petition|nomination)\b",
    r"\bsupport my (?:campaign|cause|petition)\b",
    r"\bdonate to my\b",
)
# Product and self promotion (regular expressions, case-insensitive).
PROMOTION_PHRASES: tuple[str, ...] = (
    r"\buse (?:my|the) (?:code|promo code|discount code)\b",
    r"\b(?:promo|discount|referral|affiliate) (?:code|link)\b",
    r"\bmy (?:new )?(?:book|business|store|shop|side hustle|podcast|channel|etsy|brand|products?)\b",
    r"\bshop my\b",
    r"\b(?:dm|message) me to (?:order|buy|book)\b",
    r"\blink in (?:my )?bio\b",
    r"\bmy (?:realty|real estate|tutoring|photography|catering) (?:business|services?|company)\b",
    r"\bbook (?:a session|your session) with me\b",
)
