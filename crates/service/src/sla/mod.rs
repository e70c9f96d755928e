//! Service levels: business-hours calendars, the targets a policy sets for a ticket
//! (first response, next response, resolution) and how far along each one is.

pub mod calendar;
pub mod clock;
mod escalation;
pub(crate) mod levels;
pub(crate) mod policies;

pub use calendar::{Calendar, CalendarProblem, Holiday, OpenPeriod};
pub use clock::{Goals, Happening, Moment, Phase, Progress, Target, progress};
pub use levels::{ServiceLevels, TargetView};
pub use policies::{
    CalendarDefinition, EscalationStep, LEVELS_CHANGED, MAX_ESCALATIONS, MAX_TARGET_MINUTES, SlaConditions,
    SlaPolicyDefinition, conditions_of, definition_of, escalations_of,
};
