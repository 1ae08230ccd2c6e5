"""All salesops tables, one module per aggregate, re-exported here."""

from salesops.models.accounts import Account, AccountOwner, Contact
from salesops.models.activities import Activity
from salesops.models.approvals import Proposal
from salesops.models.auth import LoginAttempt, WebSession
from salesops.models.base import Base, Imported, Timestamped, Versioned, import_key
from salesops.models.catalog import Product
from salesops.models.compensation import CompRun, CreditSplit, PayoutLine
from salesops.models.contracts import (
    Contract,
    ContractAmendment,
    ContractEvent,
    ContractLineItem,
)
from salesops.models.enums import (
    ActivityKind,
    ContractStatus,
    EventField,
    ForecastCategory,
    LeadStatus,
    OpportunityType,
    Role,
    StageCategory,
)
from salesops.models.forecasting import (
    DealPrediction,
    ForecastLine,
    ForecastRun,
    ForecastSubmission,
)
from salesops.models.governance import AuditEntry, DemoBuild, FxRate
from salesops.models.leads import Lead
from salesops.models.learning import DealScore, TrainedModel
from salesops.models.operations import (
    Document,
    DocumentTemplate,
    InboxItem,
    Job,
    JobRun,
    OutboxMessage,
)
from salesops.models.org import ApiToken, Rep, Team, TeamMembership, User
from salesops.models.pipeline import Opportunity, OpportunityEvent, PipelineStage
from salesops.models.planning import Quota
from salesops.models.playbooks import (
    CoachingNote,
    DealChecklistItem,
    Feedback,
    FeedbackVote,
    HygieneSnapshot,
    NotificationSubscription,
    PlaybookRevision,
    SalesTool,
    ToolEvaluation,
    ToolUsage,
)
from salesops.models.territories import Territory, TerritoryAssignment

__all__ = [
    "Account",
    "AccountOwner",
    "Activity",
    "ActivityKind",
    "ApiToken",
    "AuditEntry",
    "Base",
    "CoachingNote",
    "CompRun",
    "Contact",
    "Contract",
    "ContractAmendment",
    "ContractEvent",
    "ContractLineItem",
    "ContractStatus",
    "CreditSplit",
    "DealChecklistItem",
    "DealPrediction",
    "DealScore",
    "DemoBuild",
    "Document",
    "DocumentTemplate",
    "EventField",
    "Feedback",
    "FeedbackVote",
    "ForecastCategory",
    "ForecastLine",
    "ForecastRun",
    "ForecastSubmission",
    "FxRate",
    "HygieneSnapshot",
    "Imported",
    "InboxItem",
    "Job",
    "JobRun",
    "Lead",
    "LeadStatus",
    "LoginAttempt",
    "NotificationSubscription",
    "Opportunity",
    "OpportunityEvent",
    "OpportunityType",
    "OutboxMessage",
    "PayoutLine",
    "PipelineStage",
    "PlaybookRevision",
    "Product",
    "Proposal",
    "Quota",
    "Rep",
    "Role",
    "SalesTool",
    "StageCategory",
    "Team",
    "TeamMembership",
    "Territory",
    "TerritoryAssignment",
    "Timestamped",
    "ToolEvaluation",
    "ToolUsage",
    "TrainedModel",
    "User",
    "Versioned",
    "WebSession",
    "import_key",
]
