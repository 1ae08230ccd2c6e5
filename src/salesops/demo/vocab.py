"""Names, places and words for the demo company, and vectorised ways to combine them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy "
    "Anthony Betty Mark Sandra Donald Ashley Steven Emily Paul Kimberly Andrew Donna Joshua "
    "Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie "
    "Ronald Rebecca Jason Laura Edward Sharon Jeffrey Cynthia Ryan Kathleen Jacob Amy Gary "
    "Angela Nicholas Helen Eric Anna Jonathan Brenda Stephen Pamela Larry Emma Justin Nicole "
    "Scott Samantha Brandon Katherine Benjamin Christine Samuel Debra Gregory Rachel "
    "Alexander Carolyn Frank Janet Patrick Maria Raymond Olivia Jack Heather Dennis Diane "
    "Jerry Julie Tyler Joyce Aaron Victoria Jose Ruth Adam Virginia Nathan Lauren Henry Kelly "
    "Zachary Christina Douglas Joan Peter Evelyn Kyle Judith Noah Andrea Ethan Hannah Jeremy "
    "Megan Walter Cheryl Christian Jacqueline Keith Martha Roger Madison Terry Teresa Austin "
    "Gloria Sean Sara Gerald Janice Carl Ann Harold Kathryn Dylan Abigail Arthur Sophia "
    "Lawrence Frances Jordan Jean Jesse Alice Bryan Judy Billy Isabella Bruce Julia Gabriel "
    "Grace Joe Amber Logan Denise Alan Danielle Juan Marilyn Albert Beverly Willie Charlotte "
    "Elijah Natalie Wayne Theresa Randy Diana Vincent Brittany Mason Doris Roy Kayla Ralph "
    "Alexis Bobby Lori Russell Marie Bradley Priya Arjun Wei Mei Hiroshi Yuki Lars Ingrid "
    "Sofia Mateo Lucas Chloe Amara Kofi Aisha Omar"
)

LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed "
    "Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray "
    "Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez "
    "Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales "
    "Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds "
    "Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar "
    "Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington "
    "Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson "
    "Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer "
    "Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza "
    "Daniels Ferguson Nichols Stephens Soto Weaver Muller Schneider Fischer Weber Dubois "
    "Laurent Rossi Bianchi Jensen Hansen Larsen Andersson Nakamura Tanaka Sato Suzuki Wang Li "
    "Zhang Liu Singh Sharma Gupta Kumar Okafor Mensah Haddad"
)

COMPANY_FIRST = _words(
    "North Blue Silver Bright Iron Clear Swift Summit Harbor Pioneer Atlas Vertex Cedar Maple "
    "Granite Coral Crescent Evergreen Golden Polar Quantum Redwood Sterling True Union Vista "
    "Apex Beacon Cobalt Delta Echo Falcon Horizon Keystone Lumen Meridian Nova Orbit Pacific "
    "Prime Radiant Sierra Terra Unity Velocity Willow Zenith Aurora Boreal Canyon"
)
COMPANY_SECOND = _words(
    "Analytics Logistics Systems Health Foods Energy Labs Networks Dynamics Capital Media "
    "Motors Pharma Retail Software Foundry Works Partners Industries Robotics Bio Fabrics "
    "Materials Insurance Airlines Hotels Telecom Security Cloud Data Devices Markets Brewing "
    "Finance Learning Gaming Mining Marine Textiles Chemicals Consulting Freight Solar Water "
    "Design Studios Outdoors Supply Genomics"
)
COMPANY_SUFFIX = ("Inc", "Ltd", "Group", "Corp", "GmbH", "LLC", "AG", "Co", "Holdings", "SA")

INDUSTRIES = (
    ("Software", 0.16),
    ("Financial Services", 0.11),
    ("Healthcare", 0.1),
    ("Manufacturing", 0.12),
    ("Retail", 0.09),
    ("Telecommunications", 0.05),
    ("Media", 0.05),
    ("Education", 0.05),
    ("Energy", 0.05),
    ("Logistics", 0.07),
    ("Professional Services", 0.09),
    ("Public Sector", 0.06),
)

CONTACT_TITLES = (
    "VP Sales",
    "Head of Sales Operations",
    "Chief Revenue Officer",
    "Sales Director",
    "RevOps Manager",
    "CFO",
    "IT Director",
    "Procurement Manager",
    "Head of Finance",
    "CEO",
)

ACTIVITY_SUBJECTS = {
    "call": ("Discovery call", "Follow-up call", "Pricing call", "Check-in call"),
    "email": ("Follow-up email", "Proposal sent", "Intro email", "Recap email"),
    "meeting": ("Demo", "Discovery meeting", "Executive meeting", "Negotiation meeting"),
}


@dataclass(frozen=True)
class Place:
    country: str
    city_lat_lon: tuple[tuple[float, float], ...]


# Territory geo groups per region: (group name, countries with weights).
GEO_GROUPS: dict[str, tuple[tuple[str, tuple[tuple[str, float], ...]], ...]] = {
    "NA": (
        ("US East", (("United States East", 1.0),)),
        ("US West", (("United States West", 1.0),)),
        ("Canada & Mexico", (("Canada", 0.7), ("Mexico", 0.3))),
    ),
    "EMEA": (
        ("UK & Ireland", (("United Kingdom", 0.85), ("Ireland", 0.15))),
        ("DACH", (("Germany", 0.7), ("Switzerland", 0.15), ("Austria", 0.15))),
        ("France & Benelux", (("France", 0.6), ("Netherlands", 0.25), ("Belgium", 0.15))),
        ("Nordics", (("Sweden", 0.4), ("Denmark", 0.25), ("Norway", 0.2), ("Finland", 0.15))),
        ("Southern Europe", (("Spain", 0.45), ("Italy", 0.45), ("Portugal", 0.1))),
        (
            "Middle East & Africa",
            (("United Arab Emirates", 0.4), ("South Africa", 0.35), ("Israel", 0.25)),
        ),
    ),
    "APAC": (
        ("ANZ", (("Australia", 0.8), ("New Zealand", 0.2))),
        ("Japan & Korea", (("Japan", 0.65), ("South Korea", 0.35))),
        ("India", (("India", 1.0),)),
        ("Southeast Asia", (("Singapore", 0.5), ("Malaysia", 0.2), ("Indonesia", 0.3))),
    ),
}
GEO_GROUP_WEIGHT = {
    "NA": (0.45, 0.4, 0.15),
    "EMEA": (0.3, 0.22, 0.18, 0.1, 0.12, 0.08),
    "APAC": (0.4, 0.25, 0.2, 0.15),
}

# Cities (lat, lon) per country; "United States East/West" are stored as "United States".
CITIES: dict[str, tuple[tuple[float, float], ...]] = {
    "United States East": (
        (40.71, -74.01),
        (42.36, -71.06),
        (33.75, -84.39),
        (41.88, -87.63),
        (38.91, -77.04),
        (25.76, -80.19),
        (32.78, -96.8),
    ),
    "United States West": (
        (37.77, -122.42),
        (34.05, -118.24),
        (47.61, -122.33),
        (39.74, -104.99),
        (30.27, -97.74),
        (33.45, -112.07),
    ),
    "Canada": ((43.65, -79.38), (45.5, -73.57), (49.28, -123.12)),
    "Mexico": ((19.43, -99.13), (25.69, -100.32)),
    "United Kingdom": ((51.51, -0.13), (53.48, -2.24), (55.95, -3.19)),
    "Ireland": ((53.35, -6.26),),
    "Germany": ((52.52, 13.4), (48.14, 11.58), (50.11, 8.68), (53.55, 9.99)),
    "Switzerland": ((47.38, 8.54), (46.2, 6.14)),
    "Austria": ((48.21, 16.37),),
    "France": ((48.86, 2.35), (45.76, 4.84), (43.3, 5.37)),
    "Netherlands": ((52.37, 4.9), (51.92, 4.48)),
    "Belgium": ((50.85, 4.35),),
    "Sweden": ((59.33, 18.07),),
    "Denmark": ((55.68, 12.57),),
    "Norway": ((59.91, 10.75),),
    "Finland": ((60.17, 24.94),),
    "Spain": ((40.42, -3.7), (41.39, 2.17)),
    "Italy": ((45.46, 9.19), (41.9, 12.5)),
    "Portugal": ((38.72, -9.14),),
    "United Arab Emirates": ((25.2, 55.27),),
    "South Africa": ((-26.2, 28.05), (-33.92, 18.42)),
    "Israel": ((32.09, 34.78),),
    "Australia": ((-33.87, 151.21), (-37.81, 144.96), (-27.47, 153.03)),
    "New Zealand": ((-36.85, 174.76),),
    "Japan": ((35.68, 139.69), (34.69, 135.5)),
    "South Korea": ((37.57, 126.98),),
    "India": ((19.08, 72.88), (12.97, 77.59), (28.61, 77.21)),
    "Singapore": ((1.35, 103.82),),
    "Malaysia": ((3.14, 101.69),),
    "Indonesia": ((-6.21, 106.85),),
}


def country_label(country: str) -> str:
    """The country as stored on an account (the US is split in two only for territories)."""
    return "United States" if country.startswith("United States") else country


def pick(strings: tuple[str, ...] | list[str], index: np.ndarray) -> pa.Array:
    """The strings at `index`, as an Arrow string array (vectorised)."""
    return pa.array(list(strings), pa.string()).take(pa.array(index, pa.int64()))


def join(*parts: pa.Array | str) -> pa.Array:
    """Concatenate string arrays and literals element-wise."""
    return pc.binary_join_element_wise(*parts, "")


def person_names(rng: np.random.Generator, n: int) -> tuple[pa.Array, pa.Array]:
    """`n` random (first, last) names."""
    first = pick(FIRST_NAMES, rng.integers(0, len(FIRST_NAMES), n))
    last = pick(LAST_NAMES, rng.integers(0, len(LAST_NAMES), n))
    return first, last


def company_names(rng: np.random.Generator, n: int) -> pa.Array:
    """`n` plausible company names (they may repeat in very large companies, as in life)."""
    return join(
        pick(COMPANY_FIRST, rng.integers(0, len(COMPANY_FIRST), n)),
        " ",
        pick(COMPANY_SECOND, rng.integers(0, len(COMPANY_SECOND), n)),
        " ",
        pick(COMPANY_SUFFIX, rng.integers(0, len(COMPANY_SUFFIX), n)),
    )


def domains(company: pa.Array) -> pa.Array:
    """A web domain per company name: lower-case words without spaces, plus `.com`."""
    words = pc.utf8_lower(company)
    words = pc.replace_substring_regex(
        words, r" (inc|ltd|group|corp|gmbh|llc|ag|co|holdings|sa)$", ""
    )
    return join(pc.replace_substring(words, " ", ""), ".example")


def emails(first: pa.Array, last: pa.Array, domain: pa.Array) -> pa.Array:
    """first.last@domain, lower case."""
    return pc.utf8_lower(join(first, ".", last, "@", domain))
