"""Word banks and templates that generate the demo site's fictional, neutral news text."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "AUTHORS",
    "MONTH_NAMES",
    "Story",
    "StoryWriter",
    "count_words",
    "long_date",
]

MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

AUTHORS = (
    "Maren Holt", "David Achterberg", "Lucia Ferrante", "Samuel Okoro", "Ingrid Vass",
    "Tobias Grell", "Helena Marsh", "Rafael Quintana", "Yara Lindqvist", "Peter Szabo",
)  # fmt: skip
_PHOTOGRAPHERS = (
    "Nils Ekdahl", "Sara Montes", "Jakub Wrona", "Amira Haddad", "Ole Brekke", "Chiara Lanza",
)  # fmt: skip
_AGENCIES = ("Northwire Images", "Coastline Photo", "Demo Daily", "Meridian Pictures")

# Real mid-sized cities as neutral settings; the events attached to them are invented.
_PLACES = (
    "Porto", "Tampere", "Ghent", "Lyon", "Gdansk", "Valencia", "Bergen", "Aarhus", "Graz",
    "Turin", "Brno", "Malmo", "Cork", "Leipzig", "Bilbao", "Utrecht", "Ljubljana", "Tartu",
    "Split", "Basel", "Kaunas", "Plovdiv", "Galway", "Salzburg", "Nantes", "Bologna", "Riga",
    "Trieste", "Dundee", "Linz",
)  # fmt: skip
_FIRST = (
    "Anna", "Marek", "Sofia", "Jonas", "Elena", "Pieter", "Ines", "Tomas", "Laura", "Henrik",
    "Maria", "Luca", "Nadia", "Oskar", "Clara", "Jan", "Rosa", "Emil", "Hana", "Felix",
)  # fmt: skip
_LAST = (
    "Berg", "Novak", "Lindholm", "Moreau", "Kowalski", "Jensen", "Ferreira", "Horvat",
    "Vermeulen", "Costa", "Nieminen", "Brandt", "Rossi", "Dalton", "Okafor", "Silva", "Weber",
    "Kern", "Duarte", "Aalto",
)  # fmt: skip
_INSTITUTIONS = (
    "the city council", "the regional transport authority", "the national statistics office",
    "the Harbour & Rail Authority", "the port authority", "the water utility",
    "the environment agency", "the chamber of commerce", "the regional parliament",
    "the energy regulator", "the planning office", "the audit court",
)  # fmt: skip
_SCIENCE_INSTITUTIONS = (
    "the Institute for Coastal Research", "the national observatory",
    "the university's geology department", "the botanical garden",
    "the marine research centre", "the agricultural research station",
    "the meteorological service", "the natural history museum",
)  # fmt: skip
_OFFICIAL_ROLES = (
    "a spokesperson for {inst}", "the deputy mayor", "who chairs the finance committee",
    "head of planning at {inst}", "a senior adviser to {inst}",
)  # fmt: skip
_EXPERT_ROLES = (
    "an economist at {inst2}", "a researcher at {inst2}", "who studies urban policy at {inst2}",
    "a consultant who has advised {inst2}", "an engineer at {inst2}",
)  # fmt: skip

_TOPICS: dict[str, tuple[str, ...]] = {
    "world": (
        "tram line", "flood barrier", "ferry route", "railway bridge", "public library",
        "bus network", "heritage quarter", "water treatment plant", "cycle path network",
        "harbour wall", "night train connection", "district heating grid",
    ),
    "business": (
        "container terminal", "bakery chain", "wind farm", "shipyard", "textile mill",
        "logistics centre", "battery factory", "coffee roastery", "furniture maker",
        "regional airline", "solar park", "paper mill",
    ),
    "science": (
        "telescope array", "seed bank", "glacier survey", "bird migration study",
        "soil carbon project", "coral nursery", "bee census", "weather station network",
        "fossil excavation", "groundwater model", "deep-sea sensor", "lichen survey",
    ),
}  # fmt: skip

_TITLES: dict[str, tuple[str, ...]] = {
    "world": (
        "{Place} approves {n} million euro plan for new {topic}",
        "Residents of {place} to vote on future of the {topic}",
        "Work on {place} {topic} delayed until {season}",
        "{Inst} reviews safety of {place} {topic}",
        "{Place} {topic} reopens after {k}-month renovation",
        "Cost of {place} {topic} rises to {n} million euros",
        "Inspectors find faults in {place} {topic}",
        "{Place} asks for public comments on {topic} plans",
        "New {topic} in {place} passes first winter test",
        "{Place} and {other} agree to share {topic} costs",
    ),
    "business": (
        "{Place} {topic} to hire {k}00 workers",
        "Orders at {place} {topic} rise {pct} percent",
        "{Place} {topic} reports record quarterly revenue",
        "Investors put {n} million euros into {place} {topic}",
        "{Place} {topic} cuts prices as demand slows",
        "Family-owned {topic} in {place} changes hands",
        "Energy costs weigh on {place} {topic}",
        "{Place} {topic} opens second site near {other}",
        "Exports lift {place} {topic} to best year since {prev_year}",
        "{Place} {topic} signs {k}-year supply contract",
    ),
    "science": (
        "Researchers in {place} publish first results from {topic}",
        "Volunteers help {place} {topic} reach {count} samples",
        "Funding secured for {place} {topic} until {year}",
        "New data from {place} {topic} challenges earlier estimates",
        "{Place} {topic} shares data with {k} partner institutes",
        "Students join {topic} near {place}",
        "Early findings from {place} {topic} surprise scientists",
        "{Topic} near {place} marks {k} years of fieldwork",
        "{Place} {topic} records unusual readings in {month}",
        "Scientists in {place} and {other} compare {topic} methods",
    ),
}

_LEADS: dict[str, tuple[str, ...]] = {
    "world": (
        "{Inst} has backed plans for the {topic} in {place}, ending years of debate over cost "
        "and design.",
        "The {topic} in {place} will cost more and take longer than first planned, according "
        "to new figures.",
        "Residents of {place} will get a say on the {topic} before construction starts next "
        "{season}.",
        "After months of delays, officials in {place} say the {topic} is finally back on schedule.",
        "A report by {inst2} raises new questions about how the {topic} in {place} is funded.",
    ),
    "business": (
        "The {topic} in {place} expects a busy year after a run of new orders from abroad.",
        "Managers at the {topic} in {place} say rising costs are offset by steady demand.",
        "The owners of the {topic} in {place} are betting on growth despite a cooling economy.",
        "New figures show the {topic} in {place} growing faster than most of its rivals.",
        "A {n} million euro investment is set to change the way the {topic} in {place} works.",
    ),
    "science": (
        "Scientists behind the {topic} near {place} say their first results raise new questions.",
        "A {k}-year effort to build the {topic} in {place} is starting to produce usable data.",
        "Researchers in {place} hope the {topic} will help answer a long-standing puzzle.",
        "The {topic} near {place} relies on volunteers as much as on expensive equipment.",
        "Measurements from the {topic} in {place} do not quite match what models predicted.",
    ),
}

_SENTENCES_COMMON = (
    "{Official}, {official_role}, said the decision had taken longer than planned but that the "
    "{topic} remained a priority for {place}.",
    "The total cost is estimated at {n} million euros, of which {inst} will cover about {pct} "
    "percent.",
    "A public consultation drew more than {count} written comments, most of them about timing "
    "and noise.",
    "Work is expected to begin in {month} and to last roughly {k} months, weather permitting.",
    "Critics argue that the money could be spent more usefully elsewhere, pointing to a backlog "
    "of smaller repairs.",
    "{Inst} said a detailed timetable would be published on its website before the end of {month}.",
    "Local business owners told Demo Daily they welcomed the plans but worried about access "
    "during the busiest weeks.",
    "Figures from {inst2} show that demand in the region has grown by {pct} percent since "
    "{prev_year}.",
    "The last comparable project in {place} was completed in {old_year} and is still cited as a "
    "model by planners.",
    "Asked about the risks, {official_last} said the budget included a reserve of {k} million "
    "euros for unexpected costs.",
    "A second meeting is scheduled for {weekday}, when the remaining details of the financing are "
    "due to be settled.",
    "Opposition members requested an independent review, a motion that was rejected by a narrow "
    "margin.",
    "According to {inst2}, around {count} households in the area would be directly affected by "
    "the changes.",
    "The plan has been revised {k} times since it was first presented, each time with a smaller "
    "footprint.",
    "Neighbouring towns are watching the outcome closely, as several of them face similar "
    "decisions next year.",
    "{Expert}, {expert_role}, described the approach as cautious but sensible given the "
    "uncertain outlook.",
    "Officials stressed that no final contracts had been signed and that the figures could still "
    "change.",
    "An information evening for residents is planned at the town hall on {weekday} at 7 p.m.",
    'In a written statement, {inst} said it was "confident that the timetable can be met".',
    "The {topic} has been discussed in {place} for almost a decade, with several earlier "
    "proposals abandoned.",
    "Most of the money comes from a regional programme that ends in {year}, which adds pressure "
    "to start soon.",
    "Surveys carried out last spring suggested that {pct} percent of respondents supported the "
    "idea in principle.",
    "Independent engineers who reviewed the documents found no major flaws but recommended "
    "additional monitoring.",
    "The next progress report is due in {month}, when {inst} will present updated cost estimates.",
    "Comparisons with {other} are common in the debate, although the two cases differ in size "
    "and in how they are paid for.",
    "{Expert_last} added that the real test would come once the first full year of data was "
    "available.",
    "Minutes of the meeting, published on {weekday}, show that members spent most of the session "
    "on questions of maintenance.",
    "The timetable leaves little room for error, {official_last} conceded, but said a later start "
    "would cost even more.",
)

_SENTENCES: dict[str, tuple[str, ...]] = {
    "world": (
        "Commuters in {place} have long complained about delays, and the {topic} is meant to ease "
        "the pressure on the city centre.",
        'The mayor of {place} called the project "the most important investment in a '
        'generation" and urged the council to move quickly.',
        "Heavy rain in {month} last year flooded several streets near the river, prompting calls "
        "for better protection.",
        "Tourism officials expect the {topic} to attract visitors outside the busy summer season.",
        "Residents' associations have asked for more trees and benches to be included in the "
        "final design.",
        "Similar projects in {other} were delivered on time, a point supporters mention often.",
        "The regional government has promised to contribute, although the exact amount is still "
        "under negotiation.",
        "Opening hours, fares and maintenance costs will be decided separately, officials said.",
        "A petition against the current route collected {count} signatures within three weeks.",
        "Schools in the district will be consulted on safety measures before any work begins near "
        "their buildings.",
        "Transport planners estimate that travel times across the city could fall by up to {k} "
        "minutes at peak hours.",
        "The historic buildings along the site are protected, which limits what can be changed on "
        "the street front.",
    ),
    "business": (
        "Revenue rose to {n} million euros in the last financial year, up {pct} percent on the "
        "year before.",
        "The company employs about {count} people in {place} and plans to add a night shift next "
        "year.",
        "Chief executive {official} said the order book was full until the middle of {year}.",
        "Higher energy and transport costs have squeezed margins across the sector since "
        "{prev_year}.",
        "Analysts at {inst2} said the results were better than expected but warned that demand "
        "could cool.",
        "The firm exports roughly {pct} percent of its output, mainly to neighbouring countries.",
        "A new warehouse on the edge of {place} is due to open in {month}, doubling storage "
        "capacity.",
        "Unions welcomed the hiring plans and said talks on wages would resume after the holidays.",
        "Suppliers in the region are expected to benefit, with several already expanding their "
        "own workshops.",
        "The company was founded in {old_year} as a small family business and is still "
        "majority-owned by the founders.",
        "Competition from larger rivals has grown, but the firm says customers value short "
        "delivery times.",
        "The investment is partly financed by a loan from {inst2}, repayable over {k} years.",
    ),
    "science": (
        "The team collected samples at {count} sites over {k} seasons, often working in difficult "
        "weather.",
        'Lead researcher {expert} said the results were "a starting point rather than a final '
        'answer".',
        "The data will be made freely available to other research groups after a review period "
        "of six months.",
        "Earlier estimates had relied on a handful of measurements taken in the {decade}.",
        "Funding of {n} million euros comes from a national research programme and two private "
        "foundations.",
        "Volunteers from local schools helped with the fieldwork, recording observations in a "
        "shared database.",
        "The instruments were calibrated at {inst2} before being installed near {place}.",
        "Some of the measurements differ by up to {pct} percent from the values predicted by "
        "current models.",
        "The findings have been submitted to a peer-reviewed journal and are not yet final.",
        "Researchers plan to repeat the survey every {k} years to track long-term changes.",
        "Colleagues not involved in the study called the method careful and the sample unusually "
        "large.",
        "Part of the equipment was built in the university workshop to keep costs down.",
    ),
}

# Openers vary otherwise identical template sentences between articles.
_OPENERS = (
    *([""] * 10),
    "Meanwhile, ",
    "At the same time, ",
    "Separately, ",
    "By comparison, ",
)
# Sentences starting with one of these words read well after an opener, lower-cased.
_OPENABLE = frozenset({
    "The", "A", "An", "Most", "Some", "Work", "Critics", "Local", "Figures", "Officials",
    "Surveys", "Independent", "Neighbouring", "Opposition", "Revenue", "Higher", "Analysts",
    "Unions", "Suppliers", "Competition", "Earlier", "Funding", "Volunteers", "Researchers",
    "Colleagues", "Part", "Commuters", "Tourism", "Similar", "Schools", "Transport",
    "Minutes", "Comparisons",
})  # fmt: skip
_CAPTION_SUBJECTS = (
    "Construction fences at the edge of the site of the {topic} in {place}",
    "A view across {place} towards the {topic}",
    "Visitors pass the entrance of the {topic} in {place}",
    "Workers check equipment at the {topic} outside {place}",
    "Early morning light over the {topic} in {place}",
    "Members of the project team at the {topic} in {place}",
)
_SEASONS = ("spring", "summer", "autumn", "winter")
_MONTHS_AHEAD = ("January", "February", "March", "April", "May", "June", "September", "October")


@dataclass(frozen=True)
class Story:
    """The text of one generated article."""

    title: str
    lead: str
    paragraphs: tuple[str, ...]
    author: str
    image_alt: str
    caption: str
    credit: str


def count_words(text: str) -> int:
    """Count whitespace-separated words."""
    return len(text.split())


def long_date(moment: datetime) -> str:
    """Format a date the way the site prints it, e.g. "19 November 2026"."""
    return f"{moment.day} {MONTH_NAMES[moment.month - 1]} {moment.year}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


class StoryWriter:
    """Writes stories from the banks above, driven by one seeded random generator."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._titles: set[str] = set()

    def fork(self, rng: random.Random) -> StoryWriter:
        """A writer driven by another generator that still avoids every title used so far."""
        other = StoryWriter(rng)
        other._titles = set(self._titles)
        return other

    def reserve_title(self, title: str) -> None:
        """Mark a hand-written title as taken so generated ones never repeat it."""
        self._titles.add(title)

    def context(
        self, section: str, published: datetime, place: str | None = None
    ) -> dict[str, str]:
        """Pick the slot values one article uses consistently throughout its text."""
        rng = self._rng
        place = place or rng.choice(_PLACES)
        institutions = _SCIENCE_INSTITUTIONS if section == "science" else _INSTITUTIONS
        inst, inst2 = rng.sample(institutions, 2)
        official_first, expert_first = rng.sample(_FIRST, 2)
        official_last, expert_last = rng.sample(_LAST, 2)
        values = {
            "place": place,
            "other": rng.choice([p for p in _PLACES if p != place]),
            "topic": rng.choice(_TOPICS[section]),
            "inst": inst,
            "inst2": inst2,
            "official": f"{official_first} {official_last}",
            "official_last": official_last,
            "expert": f"{expert_first} {expert_last}",
            "expert_last": expert_last,
            "n": str(rng.randint(3, 480)),
            "k": str(rng.randint(2, 9)),
            "pct": str(rng.randint(4, 72)),
            "count": f"{rng.randint(2, 48) * 50:,}",
            "year": str(rng.randint(2027, 2031)),
            "prev_year": str(rng.randint(2015, 2023)),
            "old_year": str(rng.randint(1968, 2004)),
            "decade": f"{rng.choice((1970, 1980, 1990))}s",
            "month": rng.choice(_MONTHS_AHEAD),
            "season": rng.choice(_SEASONS),
            "weekday": _WEEKDAYS[published.weekday()],
        }
        values["official_role"] = rng.choice(_OFFICIAL_ROLES).format(**values)
        values["expert_role"] = rng.choice(_EXPERT_ROLES).format(**values)
        for key in ("place", "topic", "inst", "official", "expert", "expert_last"):
            values[_cap(key)] = _cap(values[key])
        return values

    def title(self, section: str, ctx: dict[str, str]) -> str:
        """A headline not used before; reshuffles the numbers until it is unique."""
        for _ in range(100):
            title = self._rng.choice(_TITLES[section]).format(**ctx).removeprefix("The ")
            title = _cap(title)
            if title not in self._titles:
                self._titles.add(title)
                return title
            ctx["n"] = str(self._rng.randint(3, 480))
            ctx["k"] = str(self._rng.randint(2, 9))
            ctx["place"] = self._rng.choice(_PLACES)
            ctx["Place"] = ctx["place"]
        raise RuntimeError("could not generate a unique headline")

    def lead(self, section: str, ctx: dict[str, str]) -> str:
        """A one-sentence standfirst."""
        return _cap(self._rng.choice(_LEADS[section]).format(**ctx))

    def paragraphs(
        self, section: str, ctx: dict[str, str], count: int, fixed: Sequence[str] = ()
    ) -> tuple[str, ...]:
        """Body paragraphs of 40-90 words: the fixed ones first, then generated ones."""
        rng = self._rng
        # Section-specific sentences assume an ordinary topic; hand-written stories skip them.
        pool = [*_SENTENCES_COMMON, *(() if fixed else _SENTENCES[section])]
        rng.shuffle(pool)
        result = list(fixed)
        while len(result) < count and pool:
            target = rng.randint(44, 82)
            words: list[str] = []
            for template in list(pool):
                sentence = self._sentence(template, ctx)
                if len(words) + count_words(sentence) > 90:
                    continue
                pool.remove(template)
                words.extend(sentence.split())
                if len(words) >= target:
                    break
            if len(words) < 40:
                break
            result.append(" ".join(words))
        return tuple(result)

    def _sentence(self, template: str, ctx: dict[str, str]) -> str:
        body = template.format(**ctx)
        opener = self._rng.choice(_OPENERS).format(**ctx)
        if opener and body.split(" ", 1)[0] in _OPENABLE:
            return opener + body[0].lower() + body[1:]
        return body

    def image(self, ctx: dict[str, str], published: datetime) -> tuple[str, str, str]:
        """Alt text, caption and credit line of the lead image."""
        rng = self._rng
        alt = f"The {ctx['topic']} in {ctx['place']}"
        day = f"{_WEEKDAYS[published.weekday()]} {published.day} {MONTH_NAMES[published.month - 1]}"
        caption = rng.choice(_CAPTION_SUBJECTS).format(**ctx) + f", {day}."
        credit = f"Photo: {rng.choice(_PHOTOGRAPHERS)}/{rng.choice(_AGENCIES)}"
        return alt, caption, credit

    def author(self) -> str:
        """A byline from the fixed staff list."""
        return self._rng.choice(AUTHORS)

    def story(
        self,
        section: str,
        published: datetime,
        *,
        title: str | None = None,
        lead: str | None = None,
        fixed: Sequence[str] = (),
        place: str | None = None,
        topic: str | None = None,
        count: int | None = None,
    ) -> Story:
        """A complete story; hand-written parts replace the generated ones where given."""
        ctx = self.context(section, published, place)
        if topic is not None:
            ctx["topic"] = topic
            ctx["Topic"] = _cap(topic)
        if title is None:
            title = self.title(section, ctx)
        else:
            self.reserve_title(title)
        lead = lead or self.lead(section, ctx)
        if count is None:
            count = self._rng.randint(5, 9)
        paragraphs = self.paragraphs(section, ctx, count, fixed)
        alt, caption, credit = self.image(ctx, published)
        return Story(title, lead, paragraphs, self.author(), alt, caption, credit)
