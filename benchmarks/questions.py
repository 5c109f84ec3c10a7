"""Question texts for the benchmarks: stored questions with paraphrases, and never-seen questions.

* :func:`paraphrase_candidates` crosses country names with question topics; each topic has one
  *stored* wording and a few *paraphrases*. Which paraphrases are usable is decided by the caller
  with the real embedding model (see ``benchmarks/latency.py``): a paraphrase is kept only when it is
  above the similarity threshold to its own stored question and closer to it than to any other stored
  question, so every timed "paraphrase hit" is a correct hit on both semantic caches.
* :func:`MissQuestions` makes questions no cache has seen and that are far from one another (no two
  share more than one content word), so a "miss" stays a miss even after earlier misses were stored.

Every text passes the plugin's never-cache filter, so requests take the full lookup path.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass

from litellm_semcache.admission import PatternFilter
from litellm_semcache.settings import SemCacheSettings

COUNTRIES = """
Afghanistan Albania Algeria Andorra Angola Argentina Armenia Australia Austria Azerbaijan Bahrain
Bangladesh Barbados Belarus Belgium Belize Benin Bhutan Bolivia Botswana Brazil Brunei Bulgaria
Burundi Cambodia Cameroon Canada Chad Chile China Colombia Comoros Croatia Cuba Cyprus Denmark
Djibouti Dominica Ecuador Egypt Eritrea Estonia Eswatini Ethiopia Fiji Finland France Gabon Gambia
Georgia Germany Ghana Greece Grenada Guatemala Guinea Guyana Haiti Honduras Hungary Iceland India
Indonesia Iran Iraq Ireland Israel Italy Jamaica Japan Jordan Kazakhstan Kenya Kiribati Kuwait
Kyrgyzstan Laos Latvia Lebanon Lesotho Liberia Libya Liechtenstein Lithuania Luxembourg Madagascar
Malawi Malaysia Maldives Mali Malta Mauritania Mauritius Mexico Micronesia Moldova Monaco Mongolia
Montenegro Morocco Mozambique Myanmar Namibia Nauru Nepal Netherlands Nicaragua Niger Nigeria Norway
Oman Pakistan Palau Panama Paraguay Peru Philippines Poland Portugal Qatar Romania Russia Rwanda
Samoa Senegal Serbia Seychelles Singapore Slovakia Slovenia Somalia Spain Sudan Suriname Sweden
Switzerland Syria Tajikistan Tanzania Thailand Togo Tonga Tunisia Turkey Turkmenistan Tuvalu Uganda
Ukraine Uruguay Uzbekistan Vanuatu Venezuela Vietnam Yemen Zambia Zimbabwe
""".split()  # noqa: SIM905 (a word list reads better as text)

#: topic -> (stored wording, paraphrases); ``{c}`` is the country.
TOPICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "capital": (
        "What is the capital of {c}?",
        (
            "What's the capital city of {c}?",
            "Which city is the capital of {c}?",
            "What is the capital city of {c}?",
            "Tell me the capital of {c}.",
        ),
    ),
    "language": (
        "What is the official language of {c}?",
        (
            "What's the official language of {c}?",
            "Which language is the official language of {c}?",
            "What is the official language spoken in {c}?",
        ),
    ),
    "currency": (
        "What is the currency of {c}?",
        (
            "What's the currency of {c}?",
            "What currency is used in {c}?",
            "Which currency does {c} use?",
            "What is the official currency of {c}?",
        ),
    ),
    "population": (
        "What is the population of {c}?",
        (
            "What's the population of {c}?",
            "How many people live in {c}?",
            "What is the total population of {c}?",
        ),
    ),
    "largest_city": (
        "What is the largest city in {c}?",
        (
            "What's the biggest city in {c}?",
            "Which city is the largest in {c}?",
            "What is the biggest city of {c}?",
        ),
    ),
    "national_dish": (
        "What is the national dish of {c}?",
        (
            "What's the national dish of {c}?",
            "Which dish is the national dish of {c}?",
            "What is {c}'s national dish?",
        ),
    ),
    "anthem": (
        "What is the national anthem of {c}?",
        (
            "What's the national anthem of {c}?",
            "Which song is the national anthem of {c}?",
            "What is {c}'s national anthem called?",
        ),
    ),
    "independence": (
        "When did {c} become independent?",
        (
            "When did {c} gain independence?",
            "In what year did {c} become independent?",
            "When did {c} become an independent country?",
        ),
    ),
}

#: Content words for never-seen questions (none of them trips the never-cache filter).
NOUNS = """
anchor apple arrow bakery balloon bamboo banjo barrel basket beacon beetle bicycle blanket bridge
bucket cabin cactus camera candle canoe canyon carpet castle cellar chimney cinnamon circus clock
compass copper cottage crayon crystal cypress dagger desert diamond dolphin dragon drum eagle easel
elbow engine falcon feather ferry fiddle forest fossil fountain furnace galaxy garden garlic geyser
glacier goblet granite guitar hammer harbor harp helmet hive honey horizon iceberg igloo island
ivory jacket jaguar jasmine kettle kite ladder lagoon lantern lemon library lighthouse lizard
locomotive magnet mango marble meadow meteor mirror monastery mosaic mountain museum needle nest
notebook oasis octopus orchard orchestra otter oven owl paddle palace parrot pebble pepper piano
pigeon pillow pine pirate planet pottery pumpkin pyramid quartz quilt rabbit radar raft rainbow reef
ribbon rocket saddle sailboat satellite scarecrow scissors seashell shovel skyscraper sled snail
spider sponge squirrel stadium statue submarine sundial swamp telescope temple tent thunder tiger
tornado tractor trumpet tulip tunnel turtle umbrella vase velvet violin volcano walnut waterfall
whale windmill wolf yacht zebra
""".split()  # noqa: SIM905 (a word list reads better as text)

MISS_TEMPLATES = (
    "Write a short story involving a {a}, a {b} and a {c}.",
    "Explain how a {a} could be used to fix a {b} near a {c}.",
    "Compare a {a} with a {b}, and mention a {c}.",
    "Describe a painting of a {a} next to a {b} under a {c}.",
    "Give three facts linking a {a}, a {b} and a {c}.",
)


@dataclass(frozen=True)
class Pair:
    """A stored question and one paraphrase of it."""

    stored: str
    paraphrase: str
    topic: str


def _never_cache() -> PatternFilter:
    return PatternFilter.from_settings(SemCacheSettings(redis_url="redis://unused"))


def paraphrase_candidates() -> list[Pair]:
    """Every (stored question, paraphrase) pair the templates make, in a fixed order."""
    never = _never_cache()
    pairs = []
    for country, (topic, (stored, paraphrases)) in itertools.product(COUNTRIES, TOPICS.items()):
        for paraphrase in paraphrases:
            pair = Pair(stored.format(c=country), paraphrase.format(c=country), topic)
            if never.match([pair.stored, pair.paraphrase]) is None:
                pairs.append(pair)
    return pairs


class MissQuestions:
    """An endless supply of questions that are new and far from each other.

    No two questions share a pair of content words, so none is a paraphrase of an earlier one.
    """

    def __init__(self, seed: int = 7) -> None:
        self._random = random.Random(seed)
        self._used_pairs: set[frozenset[str]] = set()
        self._never = _never_cache()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        for _ in range(10_000):
            words = self._random.sample(NOUNS, 3)
            pairs = {frozenset(p) for p in itertools.combinations(words, 2)}
            if pairs & self._used_pairs:
                continue
            text = self._random.choice(MISS_TEMPLATES).format(a=words[0], b=words[1], c=words[2])
            if self._never.match([text]) is not None:
                continue
            self._used_pairs |= pairs
            return text
        raise RuntimeError("ran out of distinct miss questions")

    def take(self, n: int) -> list[str]:
        return [next(self) for _ in range(n)]
