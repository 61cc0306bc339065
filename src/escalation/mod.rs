//! Escalation: who is told about what, and when.
//!
//! The [`Policy`] is compiled from `[escalation]`: tiers with delays (guards → security
//! team → police), channels told at once per category, the tier a confirmed intrusion
//! jumps to, channels for reportable events, and the periodic test. The [`Planner`] turns
//! each engine outcome into outbox rows inside the journal's commit transaction, so every
//! delivery an alarm is owed exists the moment the alarm does. Channel workers
//! (`crate::channels`) drain those rows.

pub mod evidence;
pub mod notice;
mod planner;
pub mod policy;

pub use evidence::{EvidenceLinks, EvidencePlan};
pub use notice::{AlarmInfo, EventInfo, Notice, NoticeKind, SiteInfo};
pub use planner::Planner;
pub use policy::Policy;
