"""Synthetic paraphrases of general questions (training only): rewrites that keep the answer, and the
near misses beside them.

``rewrite_pairs`` rewords questions (Quora training questions) by their opening ("How do I X?" -> "What's
the best way to X?", "What is the difference between X and Y?" -> "How does X differ from Y?", ...) and by
safe synonyms (biggest/largest, tallest/highest with a landmark, buy/purchase, movie/film, "in the world"
/ "on Earth") -> same. ``knowledge_pairs`` fills question templates about general knowledge (capitals,
superlatives, authors, inventors, heights, populations, languages, currencies, distances, translations)
with two wordings of the same question -> same, and the same wording about another entity, the opposite
superlative or another attribute -> not same. Every list below was written for this file.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from common import Pair

OPENINGS: list[tuple[str, list[str]]] = [
    (
        r"^How do I (.+)\?$",
        [
            "How can I {x}?",
            "What's the best way to {x}?",
            "What is the way to {x}?",
            "How should I {x}?",
            "What should I do to {x}?",
            "Any tips on how to {x}?",
            "How would I {x}?",
            "How to {x}?",
            "how do i {x}",
            "What are the steps to {x}?",
        ],
    ),
    (
        r"^How can I (.+)\?$",
        [
            "How do I {x}?",
            "What's the way to {x}?",
            "Is there a way to {x}?",
            "How could I {x}?",
            "how to {x}",
        ],
    ),
    (r"^How to (.+)\?$", ["How do I {x}?", "How does one {x}?", "What's the way to {x}?"]),
    (
        r"^What is the best way to (.+)\?$",
        [
            "How do I best {x}?",
            "What's the most effective way to {x}?",
            "How should I {x}?",
            "Best way to {x}?",
        ],
    ),
    (
        r"^What is the difference between ([^?]+?) and ([^?]+)\?$",
        [
            "How does {x} differ from {y}?",
            "{x} vs {y}: what's the difference?",
            "What is the difference between {y} and {x}?",
            "How are {x} and {y} different?",
            "What distinguishes {x} from {y}?",
            "Difference between {x} and {y}?",
        ],
    ),
    (
        r"^What does ([^?]+) mean\?$",
        ["What is the meaning of {x}?", "What's meant by {x}?", "Define {x}.", "{x} meaning?"],
    ),
    (
        r"^What are the best ([^?]+)\?$",
        ["Which {x} are the best?", "What are some good {x}?", "Can you recommend the best {x}?", "Top {x}?"],
    ),
    (r"^Which is the best ([^?]+)\?$", ["What is the best {x}?", "What's the top {x}?", "Best {x}?"]),
    (r"^Is it possible to (.+)\?$", ["Can I {x}?", "Can one {x}?", "Is there a way to {x}?"]),
    (r"^Can I (.+)\?$", ["Is it possible to {x}?", "Am I able to {x}?"]),
    (r"^Should I (.+)\?$", ["Is it a good idea to {x}?", "Would it be wise to {x}?"]),
    (r"^What are some (.+)\?$", ["Can you name some {x}?", "Tell me some {x}.", "List a few {x}."]),
    (r"^Why do (.+)\?$", ["What is the reason {x}?", "For what reason do {x}?"]),
]

SYNONYMS: list[tuple[str, str]] = [
    ("biggest", "largest"),
    ("buy", "purchase"),
    ("movie", "film"),
    ("movies", "films"),
    ("children", "kids"),
    ("start", "begin"),
    ("fastest", "quickest"),
    ("in the world", "on Earth"),
    ("in the world", "on the planet"),
    ("make money", "earn money"),
    ("cellphone", "mobile phone"),
    ("quickly", "fast"),
    ("help me", "assist me"),
    ("guys", "men"),
    ("girls", "women"),
    ("USA", "United States"),
    ("US", "United States"),
    ("UK", "United Kingdom"),
    ("automobile", "car"),
    ("job", "position"),
    ("advice", "tips"),
    ("book", "novel"),
    ("smart phone", "smartphone"),
]

COUNTRIES = {
    "France": ("Paris", "French", "euro"),
    "Germany": ("Berlin", "German", "euro"),
    "Italy": ("Rome", "Italian", "euro"),
    "Spain": ("Madrid", "Spanish", "euro"),
    "Japan": ("Tokyo", "Japanese", "yen"),
    "China": ("Beijing", "Mandarin", "yuan"),
    "India": ("New Delhi", "Hindi", "rupee"),
    "Brazil": ("Brasilia", "Portuguese", "real"),
    "Canada": ("Ottawa", "English", "Canadian dollar"),
    "Australia": ("Canberra", "English", "Australian dollar"),
    "Mexico": ("Mexico City", "Spanish", "peso"),
    "Russia": ("Moscow", "Russian", "ruble"),
    "Egypt": ("Cairo", "Arabic", "Egyptian pound"),
    "Kenya": ("Nairobi", "Swahili", "shilling"),
    "Turkey": ("Ankara", "Turkish", "lira"),
    "Sweden": ("Stockholm", "Swedish", "krona"),
    "Norway": ("Oslo", "Norwegian", "krone"),
    "Poland": ("Warsaw", "Polish", "zloty"),
    "Argentina": ("Buenos Aires", "Spanish", "peso"),
    "Peru": ("Lima", "Spanish", "sol"),
    "Thailand": ("Bangkok", "Thai", "baht"),
    "Vietnam": ("Hanoi", "Vietnamese", "dong"),
    "Greece": ("Athens", "Greek", "euro"),
    "Portugal": ("Lisbon", "Portuguese", "euro"),
    "Nigeria": ("Abuja", "English", "naira"),
    "South Korea": ("Seoul", "Korean", "won"),
    "Indonesia": ("Jakarta", "Indonesian", "rupiah"),
    "Ireland": ("Dublin", "English", "euro"),
    "Switzerland": ("Bern", "German", "Swiss franc"),
    "Chile": ("Santiago", "Spanish", "peso"),
    "New Zealand": ("Wellington", "English", "New Zealand dollar"),
    "Morocco": ("Rabat", "Arabic", "dirham"),
    "Iran": ("Tehran", "Persian", "rial"),
    "Pakistan": ("Islamabad", "Urdu", "rupee"),
    "Colombia": ("Bogota", "Spanish", "peso"),
    "Finland": ("Helsinki", "Finnish", "euro"),
    "Hungary": ("Budapest", "Hungarian", "forint"),
    "Austria": ("Vienna", "German", "euro"),
}
THINGS = [
    ("mountain", "highest", "tallest", "lowest"),
    ("building", "tallest", "highest", "shortest"),
    ("river", "longest", "lengthiest", "shortest"),
    ("ocean", "largest", "biggest", "smallest"),
    ("lake", "largest", "biggest", "smallest"),
    ("desert", "largest", "biggest", "smallest"),
    ("country", "largest", "biggest", "smallest"),
    ("island", "largest", "biggest", "smallest"),
    ("animal", "largest", "biggest", "smallest"),
    ("bird", "largest", "biggest", "smallest"),
    ("city", "largest", "biggest", "smallest"),
    ("waterfall", "tallest", "highest", "lowest"),
    ("tree", "tallest", "highest", "shortest"),
    ("volcano", "largest", "biggest", "smallest"),
    ("forest", "largest", "biggest", "smallest"),
    ("land animal", "fastest", "quickest", "slowest"),
    ("bird", "fastest", "quickest", "slowest"),
    ("fish", "fastest", "quickest", "slowest"),
    ("mammal", "largest", "biggest", "smallest"),
    ("waterfall", "widest", "broadest", "narrowest"),
    ("country", "richest", "wealthiest", "poorest"),
    ("planet", "largest", "biggest", "smallest"),
]
WHERE = {
    "mountain": ["in the world", "on Earth", "on the planet", "in Europe", "in Africa"],
    "planet": ["in the solar system", "in our solar system", "orbiting the Sun"],
}
WORKS = [
    ("Hamlet", "wrote"),
    ("Pride and Prejudice", "wrote"),
    ("War and Peace", "wrote"),
    ("The Odyssey", "wrote"),
    ("1984", "wrote"),
    ("Don Quixote", "wrote"),
    ("The Great Gatsby", "wrote"),
    ("Moby-Dick", "wrote"),
    ("The Divine Comedy", "wrote"),
    ("Crime and Punishment", "wrote"),
    ("the Mona Lisa", "painted"),
    ("The Scream", "painted"),
    ("Guernica", "painted"),
    ("The Last Supper", "painted"),
    ("The Night Watch", "painted"),
    ("Girl with a Pearl Earring", "painted"),
]
INVENTIONS = [
    "the light bulb",
    "the telephone",
    "the airplane",
    "the printing press",
    "the steam engine",
    "the World Wide Web",
    "the radio",
    "the television",
    "the bicycle",
    "the computer mouse",
    "dynamite",
    "the microscope",
    "the telescope",
    "the refrigerator",
    "the diesel engine",
    "the jet engine",
]
LANDMARKS = [
    "the Eiffel Tower",
    "the Statue of Liberty",
    "Big Ben",
    "the Burj Khalifa",
    "Mount Kilimanjaro",
    "the Empire State Building",
    "Mount Fuji",
    "the Leaning Tower of Pisa",
    "the Great Pyramid of Giza",
    "Niagara Falls",
    "the CN Tower",
    "Mont Blanc",
]
WORDS = [
    "thank you",
    "good morning",
    "cat",
    "friend",
    "water",
    "love",
    "goodbye",
    "house",
    "beautiful",
    "book",
]
LANGS = ["Spanish", "French", "German", "Italian", "Japanese", "Portuguese", "Russian", "Korean", "Dutch"]


def rewrite_pairs(questions: Sequence[str], rng: random.Random, count: int) -> list[Pair]:
    """Reworded questions (by their opening or a safe synonym) -> same."""
    out: list[Pair] = []
    order = list(questions)
    rng.shuffle(order)
    for q in order:
        if len(out) >= count:
            break
        for pattern, targets in OPENINGS:
            m = re.match(pattern, q)
            if m:
                groups = m.groups()
                template = rng.choice(targets)
                new = template.format(x=groups[0], y=groups[1] if len(groups) > 1 else "")
                out.append(Pair(q, new[:1].upper() + new[1:] if rng.random() < 0.8 else new, 1, "syn:reword"))
                break
        else:
            pairs = SYNONYMS[:]
            rng.shuffle(pairs)
            for x, y in pairs:
                for old, new in ((x, y), (y, x)):
                    if re.search(rf"\b{re.escape(old)}\b", q):
                        out.append(
                            Pair(q, re.sub(rf"\b{re.escape(old)}\b", new, q, count=1), 1, "syn:synonym")
                        )
                        break
                else:
                    continue
                break
    return out


def _other(rng: random.Random, items: Sequence[str], item: str) -> str:
    return rng.choice([i for i in items if i != item])


def knowledge_pairs(rng: random.Random, count: int) -> list[Pair]:
    """Two wordings of a general-knowledge question -> same; another entity / attribute -> not same."""
    countries = sorted(COUNTRIES)
    makers: list = []

    def capital() -> tuple[list[str], list[str]]:
        c = rng.choice(countries)
        o = _other(rng, countries, c)
        same = [
            f"What is the capital of {c}?",
            f"Which city is the capital of {c}?",
            f"What's {c}'s capital city?",
            f"Name the capital city of {c}.",
            f"capital of {c.lower()}?",
            f"What city is {c}'s capital?",
            f"what is the capital city of {c.lower()}",
            f"The capital of {c} is which city?",
        ]
        diff = [
            f"What is the capital of {o}?",
            f"What is the largest city in {c}?",
            f"What is the population of {c}?",
            f"Which city is the capital of {o}?",
        ]
        return same, diff

    def superlative() -> tuple[list[str], list[str]]:
        thing, s1, s2, anti = rng.choice(THINGS)
        where = rng.choice(WHERE.get(thing, ["in the world", "on Earth", "on the planet"]))
        where2 = rng.choice(WHERE.get(thing, ["in the world", "on Earth", "on the planet"]))
        same = [
            f"What is the {s1} {thing} {where}?",
            f"Which {thing} is the {s2} {where2}?",
            f"What's the {s2} {thing} {where2}?",
            f"Name the {s1} {thing} {where}.",
            f"which is the {s1} {thing} {where2}",
            f"The {s2} {thing} {where}?",
        ]
        other = rng.choice([t for t in THINGS if t[0] != thing])
        diff = [
            f"What is the {anti} {thing} {where}?",
            f"What is the {other[1]} {other[0]} {where}?",
            f"What is the second {s1} {thing} {where}?",
        ]
        return same, diff

    def author() -> tuple[list[str], list[str]]:
        work, verb = rng.choice(WORKS)
        other = rng.choice([w for w, v in WORKS if v == verb and w != work])
        if verb == "wrote":
            same = [
                f"Who wrote {work}?",
                f"Who is the author of {work}?",
                f"{work} was written by whom?",
                f"Which writer wrote {work}?",
                f"who's the author of {work}",
            ]
            diff = [f"Who wrote {other}?", f"When was {work} written?", f"What is {work} about?"]
        else:
            same = [
                f"Who painted {work}?",
                f"Which artist painted {work}?",
                f"{work} was painted by whom?",
                f"Who is the painter of {work}?",
            ]
            diff = [f"Who painted {other}?", f"Where is {work} displayed?", f"When was {work} painted?"]
        return same, diff

    def inventor() -> tuple[list[str], list[str]]:
        thing = rng.choice(INVENTIONS)
        other = _other(rng, INVENTIONS, thing)
        same = [
            f"Who invented {thing}?",
            f"Who was the inventor of {thing}?",
            f"{thing[:1].upper() + thing[1:]} was invented by whom?",
            f"Which person invented {thing}?",
            f"who came up with {thing}",
        ]
        diff = [f"Who invented {other}?", f"When was {thing} invented?", f"How does {thing} work?"]
        return same, diff

    def height() -> tuple[list[str], list[str]]:
        place = rng.choice(LANDMARKS)
        other = _other(rng, LANDMARKS, place)
        same = [
            f"How tall is {place}?",
            f"What is the height of {place}?",
            f"How high is {place}?",
            f"What's {place}'s height?",
        ]
        diff = [f"How tall is {other}?", f"How old is {place}?", f"Where is {place}?"]
        return same, diff

    def country_fact() -> tuple[list[str], list[str]]:
        c = rng.choice(countries)
        o = _other(rng, countries, c)
        kind = rng.randrange(3)
        if kind == 0:
            same = [
                f"What is the population of {c}?",
                f"How many people live in {c}?",
                f"How many inhabitants does {c} have?",
                f"{c} population?",
            ]
            diff = [f"What is the population of {o}?", f"What is the area of {c}?"]
        elif kind == 1:
            same = [
                f"What language is spoken in {c}?",
                f"What language do people speak in {c}?",
                f"Which language do they speak in {c}?",
                f"What is the main language of {c}?",
            ]
            diff = [f"What language is spoken in {o}?", f"What religion is most common in {c}?"]
        else:
            same = [
                f"What currency does {c} use?",
                f"What is the currency of {c}?",
                f"What money do they use in {c}?",
                f"Which currency is used in {c}?",
            ]
            diff = [f"What currency does {o} use?", f"What is the exchange rate of the currency of {c}?"]
        return same, diff

    def translate() -> tuple[list[str], list[str]]:
        w, lang = rng.choice(WORDS), rng.choice(LANGS)
        same = [
            f'How do you say "{w}" in {lang}?',
            f'What is the {lang} word for "{w}"?',
            f'Translate "{w}" into {lang}',
            f'"{w}" in {lang}?',
        ]
        diff = [
            f'How do you say "{w}" in {_other(rng, LANGS, lang)}?',
            f'How do you say "{_other(rng, WORDS, w)}" in {lang}?',
        ]
        return same, diff

    makers = [capital, superlative, author, inventor, height, country_fact, translate]
    out: list[Pair] = []
    seen: set[tuple[str, str]] = set()
    while len(out) < count:
        same, diff = rng.choice(makers)()
        a, b = rng.sample(same, 2)
        if rng.random() < 0.6:
            key = (a, b)
            if key not in seen:
                seen.add(key)
                out.append(Pair(a, b, 1, "syn:knowledge"))
        else:
            key = (a, rng.choice(diff))
            if key not in seen:
                seen.add(key)
                out.append(Pair(key[0], key[1], 0, "syn:knowledge_neg"))
    return out
