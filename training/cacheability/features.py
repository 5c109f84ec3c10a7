"""The lexical features of the v2 classifier: named regular expressions over the normalized text.

They carry what the MiniLM sentence vector blurs: the *form* of the request. "what is my balance" and "how do
I check my balance" embed close together (same topic); the features tell them apart: a wh-question about a
possession of the asker vs a procedural question. Each feature is 1.0 when its pattern matches the text
(lower-cased, curly quotes straightened, whitespace collapsed; see ``CacheabilityModel.normalize``) and 0.0
otherwise; the runtime multiplies them by the card's ``feature_scale``.

Not a feature on purpose: a final question mark. HWU64 (transcribed speech) never has one and the written rows
mostly do, so it taught the model the *source* of a row ("what does obstacle mean" -> live, "What does the
word obstacle mean?" -> general). For the same reason train.py adds lower-case unpunctuated copies of the
written rows.

The patterns are written into ``card.json``; the runtime compiles them from there, so this list and the
shipped artifact cannot drift apart.
"""

# ruff: noqa: E501
from __future__ import annotations

_LEAD = r"^(?:(?:hey|hi|ok|okay|so|um|yo|please|pls|plz)[,!]?\s+)*"
"""Filler words that may open a query before the real opener."""
_POLITE = r"(?:(?:can|could|would|will)\s+(?:you|u)\s+(?:please\s+)?)?"
_POSS_NOUN = r"\b(?:my|our)\s+(?!own\b)[a-z]"

_ACTIONS = (
    "set|turn|switch|add|remove|delete|transfer|send|move|pay|book|order|reorder|call|dial|text|message|"
    "email|play|pause|resume|skip|stop|mute|unmute|lock|unlock|freeze|unfreeze|block|cancel|schedule|"
    "reschedule|remind|wake|dim|brighten|open|close|start|buy|reserve|log|track|share|sync|update|reset|"
    "increase|lower|raise|clear|mark|snooze|record|submit|request|report|redeem|renew|upgrade|downgrade|"
    "activate|deactivate|enable|disable|connect|pair|arm|disarm|preheat|brew|vacuum|feed|navigate|read|"
    "put|dispute|refill|reply|forward|invite|clock|deposit|withdraw|venmo|wire|unsubscribe|restore|"
    "locate|find\\s+my|get\\s+me|show\\s+me\\s+my|check\\s+my|change\\s+my|change\\s+your|take\\s+me"
)
_TASKS = (
    "write|explain|summarize|summarise|translate|describe|define|list|compare|generate|create|draft|"
    "rewrite|paraphrase|correct|proofread|fix|refactor|implement|convert|calculate|solve|outline|"
    "brainstorm|suggest|recommend|teach|act\\s+as|you\\s+are|help\\s+me|give\\s+me\\s+(?:a|an|some|\\d+|"
    "ideas|tips|examples)|tell\\s+me\\s+(?:about|how|why|what)|make\\s+(?:a|an|this|it)|plan|"
    "review|debug|analy[sz]e|simplify|spell|name"
)

FEATURES: tuple[tuple[str, str], ...] = (
    # openers
    ("open_how_do_i", _LEAD + _POLITE + r"how\s+(?:do|can|should|could|would|does|did)\s+(?:i|you|we|one|u|people|someone)\b"),
    ("open_how_long", _LEAD + r"how\s+(?:long|often|early|soon|fast|quickly)\b"),
    ("open_how_much_many", _LEAD + r"how\s+(?:much|many)\b"),
    ("open_how_other", _LEAD + r"how\b(?!\s+(?:do|can|should|could|would|does|did|long|often|early|soon|fast|quickly|much|many)\b)"),
    ("open_why", _LEAD + r"(?:why|how\s+come)\b"),
    ("open_what", _LEAD + r"(?:what|what's|whats|wat|wats)\b"),
    ("open_when_where_which_who", _LEAD + r"(?:when|when's|where|where's|wheres|which|who|who's|whose)\b"),
    ("open_can_should_i", _LEAD + r"(?:can|could|should|may|must|would)\s+(?:i|we|you\s+use|one)\b"),
    ("open_is_it_there", _LEAD + r"(?:is|are|was|does|do|will|would)\s+(?:it|there|this|that|they|a|an|the)\b"),
    ("open_aux_i", _LEAD + r"(?:do|did|have|has|am|was|will|can)\s+i\b"),
    ("open_aux_my", _LEAD + r"(?:is|are|was|were|has|have|did|does|do|will)\s+(?:my|our)\b"),
    ("open_you", _LEAD + r"(?:are|do|can|will|have|were|did|would)\s+(?:you|u)\b"),
    ("open_action_verb", _LEAD + _POLITE + r"(?:" + _ACTIONS + r")\b"),
    ("open_task_verb", _LEAD + _POLITE + r"(?:" + _TASKS + r")\b"),
    ("open_polite_request", _LEAD + r"(?:can|could|would|will)\s+(?:you|u)\b"),
    ("open_i_statement", _LEAD + r"(?:i|i'm|im|i've|i'd|i'll|my)\b"),
    ("i_want_need", r"\bi\s+(?:want|need|would\s+like|'d\s+like|d\s+like|wanna)\b"),
    # possession and person
    ("wh_my", r"\b(?:what|what's|whats|when|when's|where|where's|wheres|which|who|who's|how\s+much|how\s+many)\b(?:\s+\S+){0,4}?\s+(?:my|our)\b"),
    ("my_noun", _POSS_NOUN),
    ("my_noun_state", r"\bmy\s+(?:\S+\s+){0,2}?(?:is|are|was|were|has|have|hasn't|hasnt|haven't|isn't|isnt|wasn't|won't|wont|didn't|didnt|doesn't|doesnt|keeps|keep|got|still|never|just)\b"),
    ("first_person", r"\b(?:i|i'm|im|i've|me|mine)\b"),
    ("do_i_have", r"(?<!how )(?<!what )\b(?:do|did|have|am|was)\s+i\b"),
    ("second_person", r"\b(?:you|your|yours|yourself|u|ur)\b"),
    ("your_self", r"\b(?:your|ur)\s+(?:name|age|favorite|favourite|hobbies|hobby|creator|job|purpose|boss|family|pets|gender|birthday|feelings)\b"),
    # procedural / support cues
    ("support_cue", r"\b(?:what\s+(?:should|do|can)\s+i\s+do|what\s+now|is\s+(?:that|it|this)\s+normal|usually|typically|normally|in\s+general|on\s+average|is\s+it\s+possible|what\s+happens|how\s+come)\b"),
    ("generic_subject", r"\b(?:a|an|the|someone|people|one|somebody|anyone|everyone|most)\s+(?:card|payment|transfer|account|order|person|customer|employee|car|flight)s?\b"),
    # time and place
    ("now_words", r"\b(?:now|right\s+now|currently|current|at\s+the\s+moment|rn|latest|live|breaking|so\s+far|yet|still\s+open|open\s+now)\b"),
    ("day_words", r"\b(?:today|tonight|tonite|tomorrow|tmrw|tmr|tomorow|yesterday|last\s+night|this\s+(?:morning|afternoon|evening|week|weekend|month|year)|later|next\s+(?:week|weekend|month)|on\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b"),
    ("clock_time", r"\b(?:\d{1,2}(?::\d\d)?\s*(?:am|pm|a\.m\.|p\.m\.)|noon|midnight|o'clock|\d{1,2}:\d\d)\b"),
    ("place_words", r"\b(?:near\s+me|nearby|near\s+here|around\s+here|close\s+by|closest|nearest|in\s+my\s+area|from\s+here|here|where\s+i\s+am|my\s+location|local|in\s+town)\b"),
    ("world_state", r"\b(?:weather|forecast|rain|snow|temperature|traffic|stock|price|rate|score|news|headlines|open|busy|crowded|delayed|on\s+time|status)\b"),
    # random
    ("chance_words", r"\b(?:random|randomly|flip|toss|roll|dice|die|d\d+|coin|heads|tails|shuffle|lottery|magic\s+8|eeny|spin)\b"),
    ("joke_fact", r"\b(?:joke|jokes|jokee|pun|puns|riddle|fun\s+fact|random\s+fact|trivia|surprise\s+me|something\s+(?:funny|interesting|random|cool)|make\s+me\s+laugh|funny)\b"),
    ("pick_choose", r"\b(?:pick|choose|decide)\b"),
    # form and size
    ("digits", r"\d"),
    ("money", r"(?:\$\s*\d|\b\d+\s*(?:dollars|bucks|euros|pounds|usd|eur|gbp)\b|\b\d+k\b)"),
    ("duration", r"\b\d+\s*(?:s|sec|secs|seconds|m|min|mins|minutes|h|hr|hrs|hours)\b"),
    ("short", r"^\S+(?:\s+\S+){0,2}$"),
    ("long", r"(?<!\S)(?:\S+\s+){15}\S"),
    ("very_long", r"(?<!\S)(?:\S+\s+){35}\S"),
    ("code_or_quote", r"(?:[{}();=<>`\[\]]|\bdef\s|\bselect\s|\bfunction\b|[\"'][^\"']{3,}[\"']|:\s*\S)"),
)  # fmt: skip
