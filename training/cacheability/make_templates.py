# ruff: noqa: E501
"""Write data/templated_v2.csv: programmatic training rows (a minority of the v2 data, train split only).

    .venv/bin/python training/cacheability/make_templates.py

Templates fill slots (numbers, cities, currencies, items, people) into phrasings written from the class
definitions. They add variety of *values* ("roll a 7-sided die", "timer for 35 minutes", "JPY to CHF") that
hand-written rows cover only a few times, and contrast pairs whose topic is the same but whose question form
differs ("what's my credit limit" vs "how is a credit limit decided"). Fixed seed; the output is committed.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "data" / "templated_v2.csv"
SEED = 7
PER_TEMPLATE = 8  # rows drawn from each template

# fmt: off
CITIES = ["Paris", "Tokyo", "Chicago", "London", "Berlin", "Denver", "Sydney", "Toronto", "Austin", "Madrid",
          "Seoul", "Boston", "Miami", "Rome", "Dublin", "Phoenix", "Lagos", "Mumbai", "Oslo", "Lima"]
COUNTRIES = ["Japan", "Italy", "Brazil", "Kenya", "India", "Mexico", "Canada", "Egypt", "Vietnam", "Peru",
             "Thailand", "Morocco", "Germany", "Turkey", "Colombia", "Greece", "Australia", "Chile"]
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "MXN", "INR", "CNY", "dollars", "euros", "pounds",
              "yen", "pesos", "rupees"]
COMPANIES = ["Apple", "Microsoft", "Tesla", "Amazon", "Nvidia", "Google", "Netflix", "Disney", "Ford", "Nike",
             "Intel", "Boeing"]
PEOPLE = ["mom", "dad", "Sarah", "Mike", "Jen", "my brother", "Alex", "Priya", "Tom", "the landlord", "Grandma"]
ROOMS = ["kitchen", "bedroom", "living room", "office", "bathroom", "hallway", "garage", "porch"]
ITEMS = ["milk", "eggs", "bread", "coffee", "bananas", "dish soap", "batteries", "rice", "cheese", "tomatoes"]
TOPICS = ["octopuses", "space", "the ocean", "Rome", "cats", "volcanoes", "bees", "the moon", "penguins",
          "chocolate", "dinosaurs", "Japan", "the human brain", "sharks", "music", "trees"]
FOODS = ["an apple", "a bagel", "a cup of rice", "an egg", "a banana", "a slice of bread", "almonds",
         "a glass of milk", "broccoli", "salmon"]
PLACES = ["Costco", "Target", "the DMV", "Trader Joe's", "the gym", "Starbucks", "the post office", "IKEA",
          "Home Depot", "the library"]
ACCOUNT_THINGS = ["balance", "credit limit", "APR", "routing number", "account number", "minimum payment",
                  "statement balance", "rewards balance", "credit score", "loan balance", "interest rate",
                  "IBAN", "overdraft limit", "available credit"]
CARD_THINGS = ["card", "debit card", "credit card", "payment", "transfer", "top-up", "withdrawal", "refund",
               "direct debit", "cheque deposit"]
PROBLEMS = ["declined", "pending", "reverted", "delayed", "blocked", "rejected", "charged twice",
            "not showing up"]
LANGS = ["Spanish", "French", "German", "Italian", "Japanese", "Portuguese", "Korean", "Dutch"]
PHRASES = ["good morning", "thank you very much", "where is the station", "how much does this cost",
           "I'm lost", "nice to meet you", "the bill, please", "I love this city"]
UNITS = [("miles", "kilometers"), ("pounds", "kilograms"), ("cups", "milliliters"), ("feet", "meters"),
         ("Fahrenheit", "Celsius"), ("ounces", "grams"), ("gallons", "liters"), ("inches", "centimeters")]
TASKS = ["call the dentist", "pay rent", "take my pills", "water the plants", "buy a gift", "email Tom",
         "pick up the kids", "renew my passport", "book the vet", "return the library books"]
WHEN = ["tomorrow", "at 5", "in 20 minutes", "on Monday", "tonight", "at 9 am", "next week", "at noon"]
DAYS = ["today", "tomorrow", "tonight", "this weekend", "on Saturday", "right now", "this afternoon",
        "next week"]
# fmt: on


def rint(rng: random.Random, lo: int, hi: int) -> str:
    return str(rng.randint(lo, hi))


def templates(rng: random.Random) -> list[tuple[str, str]]:
    """(class, text) rows; each template is drawn PER_TEMPLATE times."""
    c = rng.choice
    T: list[tuple[str, object]] = [
        # random
        ("random", lambda: f"roll a {c(['4', '6', '7', '8', '10', '12', '20', '30', '100'])}-sided die"),
        ("random", lambda: f"Roll a {c(['ten', 'six', 'twelve', 'twenty', 'eight'])} sided dice for me"),
        ("random", lambda: f"roll {rint(rng, 1, 5)}d{c(['4', '6', '8', '10', '12', '20'])}"),
        ("random", lambda: f"pick a number between {rint(rng, 0, 10)} and {rint(rng, 11, 500)}"),
        ("random", lambda: f"Give me a random number from {rint(rng, 1, 5)} to {rint(rng, 6, 99)}."),
        ("random", lambda: f"flip {c(['a coin', 'two coins', 'a quarter', 'a penny'])}"),
        ("random", lambda: f"Tell me a joke about {c(TOPICS)}."),
        ("random", lambda: f"tell me a fun fact about {c(TOPICS)}"),
        ("random", lambda: f"Give me a fun fact about {c(TOPICS)}."),
        ("random", lambda: f"Give me a random {c(['color', 'animal', 'word', 'number', 'country', 'name'])}."),
        ("random", lambda: f"Pick one at random: {c(ITEMS)}, {c(ITEMS)} or {c(ITEMS)}."),
        # general contrast to the random ones
        ("general", lambda: f"Tell me about {c(TOPICS)}."),
        ("general", lambda: f"Write a short paragraph about {c(TOPICS)}."),
        ("general", lambda: f"What is the probability of rolling a {rint(rng, 1, 6)} on a six-sided die?"),
        # private: actions and own data
        ("private", lambda: f"set a timer for {rint(rng, 1, 90)} {c(['minutes', 'seconds', 'min'])}"),
        ("private", lambda: f"Set an alarm for {rint(rng, 1, 12)}:{c(['00', '15', '30', '45'])} {c(['am', 'pm'])}."),
        ("private", lambda: f"transfer ${rint(rng, 5, 2000)} to {c(PEOPLE)}"),
        ("private", lambda: f"Send {rint(rng, 5, 300)} dollars to {c(PEOPLE)}."),
        ("private", lambda: f"turn {c(['on', 'off'])} the {c(ROOMS)} lights"),
        ("private", lambda: f"Set the thermostat to {rint(rng, 60, 78)}."),
        ("private", lambda: f"add {c(ITEMS)} to my shopping list"),
        ("private", lambda: f"Remind me to {c(TASKS)} {c(WHEN)}."),
        ("private", lambda: f"preheat the oven to {c(['325', '350', '375', '400', '425', '450'])}"),
        ("private", lambda: f"What's my {c(ACCOUNT_THINGS)}?"),
        ("private", lambda: f"what is my current {c(ACCOUNT_THINGS)}"),
        ("private", lambda: f"Freeze my {c(['card', 'debit card', 'account', 'credit card', 'savings account'])}."),
        ("private", lambda: f"How much {c(['gas', 'fuel', 'battery', 'charge'])} is left in my car?"),
        ("private", lambda: f"Call {c(PEOPLE)}."),
        ("private", lambda: f"Text {c(PEOPLE)} that I'm {c(['running late', 'on my way', 'home', 'outside'])}."),
        ("private", lambda: f"Book a table for {rint(rng, 2, 8)} at {rint(rng, 5, 9)} pm {c(DAYS)}."),
        ("private", lambda: f"When is my next {c(['meeting', 'payday', 'appointment', 'bill', 'flight', 'shift'])}?"),
        # general: support and how-to about the same topics
        ("general", lambda: f"How do I check my {c(ACCOUNT_THINGS)}?"),
        ("general", lambda: f"What does {c(ACCOUNT_THINGS)} mean?"),
        ("general", lambda: f"Why would my {c(CARD_THINGS)} be {c(PROBLEMS)}?"),
        ("general", lambda: f"my {c(CARD_THINGS)} is {c(PROBLEMS)}, what should I do?"),
        ("general", lambda: f"How long does a {c(CARD_THINGS)} usually take?"),
        ("general", lambda: f"How do I freeze my {c(['card', 'debit card', 'account', 'credit card'])}?"),
        ("general", lambda: f"What is the capital of {c(COUNTRIES)}?"),
        ("general", lambda: f"What time zone is {c(CITIES)} in?"),
        ("general", lambda: f"Translate '{c(PHRASES)}' into {c(LANGS)}."),
        ("general", lambda: f"How do you say {c(PHRASES)} in {c(LANGS)}?"),
        ("general", lambda: f"What is {rint(rng, 2, 99)} times {rint(rng, 2, 99)}?"),
        ("general", lambda: (lambda u: f"Convert {rint(rng, 2, 300)} {u[0]} to {u[1]}.")(c(UNITS))),
        ("general", lambda: f"Do I need a visa to visit {c(COUNTRIES)}?"),
        ("general", lambda: f"What plug type is used in {c(COUNTRIES)}?"),
        ("general", lambda: f"What vaccines do I need for {c(COUNTRIES)}?"),
        ("general", lambda: f"How many calories are in {c(FOODS)}?"),
        ("general", lambda: f"What are the best things to do in {c(CITIES)}?"),
        ("general", lambda: f"What is {c(COMPANIES)} known for?"),
        # live
        ("live", lambda: f"weather in {c(CITIES)} {c(DAYS)}"),
        ("live", lambda: f"What's the weather going to be like in {c(CITIES)} {c(DAYS)}?"),
        ("live", lambda: f"What time is it in {c(CITIES)}?"),
        ("live", lambda: f"{c(CURRENCIES)} to {c(CURRENCIES)} rate"),
        ("live", lambda: f"How much is {rint(rng, 10, 1000)} {c(CURRENCIES)} in {c(CURRENCIES)} right now?"),
        ("live", lambda: f"What's {c(COMPANIES)}'s stock price?"),
        ("live", lambda: f"is flight {c(['UA', 'AA', 'DL', 'BA', 'LH', 'AF', 'WN'])} {rint(rng, 10, 2999)} on time"),
        ("live", lambda: f"{c(['pizza', 'coffee', 'sushi', 'tacos', 'a pharmacy', 'an ATM', 'gas'])} near me"),
        ("live", lambda: f"How's traffic to {c(['work', 'the airport', 'downtown', 'the stadium', 'home'])}?"),
        ("live", lambda: f"How busy is {c(PLACES)} at {rint(rng, 1, 11)} {c(['am', 'pm'])}?"),
        ("live", lambda: f"Is {c(PLACES)} open right now?"),
        ("live", lambda: f"Is it safe to travel to {c(COUNTRIES)} right now?"),
        ("live", lambda: f"What's the latest news about {c(COUNTRIES)}?"),
    ]  # fmt: skip
    rows = []
    for label, make in T:
        texts: set[str] = set()
        for _ in range(PER_TEMPLATE * 5):
            texts.add(make())  # type: ignore[operator]
            if len(texts) == PER_TEMPLATE:
                break
        rows += [(label, t) for t in sorted(texts)]
    return rows


def main() -> None:
    rng = random.Random(SEED)
    rows = templates(rng)
    with OUT.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "class", "split"])
        for label, text in rows:
            w.writerow([text, label, "train"])
    print(f"wrote {len(rows)} rows to {OUT}")


if __name__ == "__main__":
    main()
