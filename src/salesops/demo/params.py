"""Every number the demo company is built from, in one place (documented in docs/demo-data.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# The history ends on the day the demo is built unless an end date is given. Tests and
# benchmarks pin this one, so the figures they assert or compare stay the same every day.
REFERENCE_END = date(2026, 10, 31)
DEFAULT_SEED = 42
HISTORY_YEARS = 3
# Deals start this many days earlier still, so the first quarters are not an empty ramp-up.
WARMUP_DAYS = 120
CHUNK = 20_000  # opportunities generated per chunk; fixed so output never depends on the sink
MIN_OPPORTUNITIES = 100
MAX_OPPORTUNITIES = 20_000_000

# ---- organisation -------------------------------------------------------------------------
OPPS_PER_SEAT = 300  # seats (rep positions at the end date) = N / OPPS_PER_SEAT
SEATS_PER_TEAM = 8
ACCOUNTS_PER_OPP = 0.2
REGIONS = ("NA", "EMEA", "APAC")
REGION_NAMES = {"NA": "North America", "EMEA": "EMEA", "APAC": "APAC"}
REGION_SHARE = (0.5, 0.3, 0.2)
SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
SEGMENT_SHARE = (0.4, 0.35, 0.25)  # share of seats
SEAT_OPP_WEIGHT = (1.8, 1.0, 0.5)  # relative opportunities per seat and month
SEAT_ACCOUNT_WEIGHT = (3.0, 1.5, 0.8)  # relative accounts per seat
SEATS_OPEN_AT_START = 0.65  # the rest open evenly over the history: the team grows
REORG_DATE_OFFSET_DAYS = 600  # a reorganisation moves some reps between sibling teams
REORG_SHARE = 0.15
MEAN_TENURE_MONTHS = 40.0  # exponential tenure: about 26% annual attrition
VACANCY_DAYS = (21, 75)  # a seat stays empty this long; its manager covers the accounts
RAMP_MONTHS = 6.0  # new hires reach full productivity after this many months
RAMP_START_ACTIVITY = 0.35  # a new hire creates this share of a ramped rep's deals in month 0
RAMP_START_WIN = 0.6  # ... and wins this share as often
VACANCY_ACTIVITY = 0.35  # a manager covering an empty seat keeps this share of deal flow
SKILL_SIGMA = 0.22  # rep skill: lognormal multiplier on win odds and deal size
QUOTA_RAMP = (0.25, 0.5, 0.75)  # quota ramp factor in the hire quarter and the two after
QUOTA_STRETCH = 1.05  # quota = this times the average bookings of ramped reps

# ---- seasonality of deal creation by calendar month (Jan..Dec) ---------------------------
CREATE_MONTH_FACTOR = (1.0, 1.05, 1.1, 1.0, 1.0, 0.95, 0.9, 0.8, 1.05, 1.1, 1.0, 0.75)
REGION_WORK_HOURS_UTC = {"NA": (14, 23), "EMEA": (7, 17), "APAC": (0, 9)}

# ---- funnel --------------------------------------------------------------------------------
STAGE_NAMES = (
    "Prospecting",
    "Qualification",
    "Discovery",
    "Proposal",
    "Negotiation",
    "Closed Won",
    "Closed Lost",
)
WON, LOST = 5, 6
STAGE_FORECAST = (0, 0, 0, 1, 2, 3, 4)  # index into FORECAST_NAMES
FORECAST_NAMES = ("pipeline", "best_case", "commit", "closed", "omitted")
STAGE_PROBABILITY = (0.05, 0.15, 0.25, 0.45, 0.70, 1.0, 0.0)
# Chance to move on from each open stage (Negotiation: to be won), before adjustments.
ADVANCE = (0.66, 0.68, 0.72, 0.74, 0.80)
SEGMENT_ADVANCE = (1.03, 1.0, 0.96)
TYPE_ADVANCE = {"new": 1.0, "expansion": 1.08, "renewal": 1.22}
COMPETITOR_ADVANCE = 0.97
# Median days for the whole funnel by segment; each stage takes a share of it.
CYCLE_MEDIAN_DAYS = (38.0, 75.0, 135.0)
STAGE_TIME_SHARE = (0.15, 0.2, 0.25, 0.25, 0.15)
DURATION_SIGMA = 0.55
COMPLEXITY_CYCLE = 0.12  # each buying-complexity point above 3 lengthens cycles by 12%
LOST_DAYS_INTO_STAGE = (0.3, 1.3)  # lost deals die this far (share) into their stage
REOPEN_SHARE = 0.01
REOPEN_AFTER_DAYS = (14, 90)
# Quarter-end behaviour of won deals.
HOLD_TO_QUARTER_END = 0.22  # ready in month 1-2 but signed in the last week of the quarter
PULL_INTO_QUARTER = 0.35  # ready in the first 15 days of a quarter, pulled back with a discount
PULL_DISCOUNT = (0.05, 0.12)
# Amount revisions.
PROPOSAL_REPRICE = 0.35  # at Proposal the amount is revised (lognormal, sigma below)
PROPOSAL_REPRICE_SIGMA = 0.18
NEGOTIATION_DISCOUNT = 0.3
NEGOTIATION_DISCOUNT_RANGE = (0.03, 0.15)
# Rep "commit" calls made in Proposal ahead of the stage (share of deals that will win/lose).
EARLY_COMMIT = (0.4, 0.08)
# Close-date slips.
CLOSE_DATE_PLAN_SIGMA = 0.3
SLIP_MAX = 6
SLIP_NOTICE_DAYS = (-3.0, 6.0)  # slips are entered from 3 days before to 6 days after the date

# ---- deals ---------------------------------------------------------------------------------
TYPES = ("new", "expansion", "renewal")
EXPANSION_SHARE = (0.2, 0.3, 0.4)  # of primary deals, by segment
SIZE_SIGMA = (0.55, 0.6, 0.7)
EXPANSION_SIZE = 0.45
PRICE_GROWTH_PER_YEAR = 0.06
LEAD_SOURCES = ("Inbound Web", "Referral", "Partner", "Event", "Webinar", "Paid Search")
LEAD_SOURCE_SHARE = (0.22, 0.10, 0.12, 0.10, 0.08, 0.08)  # the rest (0.30) is Outbound
LEAD_CONVERSION = (0.35, 0.6, 0.45, 0.25, 0.22, 0.18)
LEAD_SOURCE_ADVANCE = (1.0, 1.06, 1.03, 0.98, 0.97, 0.96)
OUTBOUND = "Outbound"
EXISTING_CUSTOMER = "Existing Customer"
RENEWAL_SOURCE = "Renewal"
COMPETITORS = ("Quotient", "Forecastly", "PipeIQ", "Revvio", "Clarion CRM", "In-house build")
COMPETITOR_SHARE = 0.6
LOSS_REASONS_EARLY = ("No budget", "Not a fit", "No decision", "Timing")
LOSS_REASONS_EARLY_P = (0.3, 0.3, 0.25, 0.15)
LOSS_REASONS_LATE = ("Lost to competitor", "Price", "No decision", "Timing", "Missing feature")
LOSS_REASONS_LATE_P = (0.35, 0.25, 0.2, 0.1, 0.1)
LOSS_REASONS_RENEWAL = (
    "Churn - budget cut",
    "Churn - switched to competitor",
    "Churn - low adoption",
    "Churn - company acquired",
)
LOSS_REASONS_RENEWAL_P = (0.3, 0.3, 0.3, 0.1)


@dataclass(frozen=True)
class ProductSpec:
    name: str
    family: str
    list_price: int
    segment_weight: tuple[float, float, float]


PRODUCTS = (
    ProductSpec("Core Platform", "Platform", 12_000, (0.7, 0.35, 0.05)),
    ProductSpec("Enterprise Platform", "Platform", 60_000, (0.0, 0.1, 0.55)),
    ProductSpec("Forecasting Suite", "Add-on", 18_000, (0.05, 0.2, 0.2)),
    ProductSpec("Analytics Add-on", "Add-on", 6_000, (0.15, 0.2, 0.1)),
    ProductSpec("Premium Support", "Services", 8_000, (0.1, 0.1, 0.05)),
    ProductSpec("Implementation Services", "Services", 15_000, (0.0, 0.05, 0.05)),
)
# Deal size = list price * a seat multiplier (lognormal, median by segment), rounded to $100.
SEGMENT_SIZE_MULTIPLIER = (0.6, 1.6, 2.5)

# ---- contracts and renewals ----------------------------------------------------------------
TERM_MONTHS = (12, 24, 36)
TERM_SHARE = ((0.8, 0.15, 0.05), (0.55, 0.3, 0.15), (0.35, 0.35, 0.3))
AUTO_RENEW = (0.7, 0.4, 0.15)
RENEWAL_LEAD_DAYS = (60, 90, 120)
NO_RENEWAL_OPPORTUNITY = (0.1, 0.05, 0.02)  # contracts left to expire silently
RENEWAL_UPLIFT = (0.03, 0.1)  # lognormal mean and sigma of the renewal price change
TEMPLATES = ("SMB Order Form", "Standard MSA", "Enterprise MSA")

# ---- accounts, contacts, leads, activities -------------------------------------------------
EMPLOYEES_MEDIAN = (60, 700, 9_000)
EMPLOYEES_RANGE = ((5, 199), (200, 1_999), (2_000, 250_000))
REVENUE_PER_EMPLOYEE_MEDIAN = 220_000
COMPLEXITY_BASE = (1.3, 2.6, 4.0)
CONTACTS_MEAN = (1.5, 3.0, 5.0)
PARENT_SHARE = 0.12  # of Mid-Market and Enterprise accounts that belong to a group
ACTIVITY_GAP_DAYS = (14.0, 20.0, 26.0)  # one touch every this many days of an open deal
ACTIVITY_MAX = 25
ACTIVITY_KIND_SHARE = (("call", 0.35), ("email", 0.45), ("meeting", 0.2))
LEAD_AGE_DAYS = 14.0  # mean days from lead creation to conversion
LEAD_SPREAD_DAYS = 45.0
