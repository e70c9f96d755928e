//! Measuring one ticket for a report from its history: when it was opened and through
//! which channel, each time it became solved, its status at the period's end, its
//! first public answer by staff, its targets and its satisfaction answer.

use std::collections::HashMap;

use palisade_store::{DomainEventRecord, TicketRecord, TicketTargetRecord};
use serde_json::Value;

use super::figures::Tally;
use crate::sla::Calendar;

pub(crate) struct Context<'a> {
    pub from: i64,
    pub to: i64,
    pub now: i64,
    /// The business hours the ticket's policy counts in; `None`: around the clock.
    pub calendar: Option<&'a Calendar>,
    /// Whether each message author is staff.
    pub staff: &'a HashMap<String, bool>,
    pub targets: &'a [TicketTargetRecord],
    /// The ticket's satisfaction answer given in the period (`true`: good).
    pub rating: Option<bool>,
}

pub(crate) struct Measured {
    pub tally: Tally,
    /// Through which channel it was opened.
    pub channel: String,
    /// When it was opened, if in the period.
    pub created_days: Vec<i64>,
    /// Each time it became solved in the period.
    pub solved_at: Vec<i64>,
}

impl Context<'_> {
    fn within(&self, at: i64) -> bool {
        (self.from..self.to).contains(&at)
    }

    fn elapsed(&self, start: i64, end: i64) -> i64 {
        match self.calendar {
            Some(calendar) => calendar.between(start, end),
            None => (end - start).max(0),
        }
    }
}

impl Measured {
    pub(crate) fn of(ticket: &TicketRecord, events: &[DomainEventRecord], cx: &Context<'_>) -> Self {
        let opened = ticket.created_at.0;
        let mut tally = Tally::default();
        let mut channel = "web".to_owned();
        let mut status = "new".to_owned();
        let mut first_solve: Option<i64> = None;
        let mut first_answer: Option<i64> = None;
        let mut solved_at = Vec::new();
        for e in events {
            let detail: Value = serde_json::from_str(&e.detail).unwrap_or_default();
            match e.kind.as_str() {
                "ticket.created" => channel = e.channel.clone(),
                "ticket.status_changed" => {
                    if let Some(to) = detail["to"].as_str() {
                        status = to.to_owned();
                        if to == "solved" {
                            first_solve.get_or_insert(e.at.0);
                            if cx.within(e.at.0) {
                                solved_at.push(e.at.0);
                            }
                        }
                    }
                }
                // A rule's automatic reply is not an answer.
                "message.added"
                    if first_answer.is_none()
                        && detail["visibility"] == "public"
                        && e.channel != crate::Channel::Automation.as_str()
                        && cx.staff.get(&e.actor).copied().unwrap_or(false) =>
                {
                    first_answer = Some(e.at.0);
                }
                _ => {}
            }
        }
        let mut created_days = Vec::new();
        if cx.within(opened) {
            tally.created = 1;
            created_days.push(opened);
            if let Some(answer) = first_answer {
                tally.first_response.push(cx.elapsed(opened, answer));
            }
        }
        tally.solved = solved_at.len();
        if let Some(solved) = first_solve.filter(|at| cx.within(*at)) {
            tally.resolution.push(cx.elapsed(opened, solved));
        }
        if opened < cx.to && matches!(status.as_str(), "new" | "open" | "pending") {
            tally.backlog = 1;
        }
        for t in cx.targets {
            match (t.met_at, t.due_at) {
                (Some(met), due) if cx.within(met) => {
                    if crate::sla::clock::breached(Some(met), due, cx.now) {
                        tally.targets_missed += 1;
                    } else {
                        tally.targets_met += 1;
                    }
                }
                (None, Some(due)) if cx.within(due) && due <= cx.now => tally.targets_missed += 1,
                _ => {}
            }
        }
        match cx.rating {
            Some(true) => tally.rated_good = 1,
            Some(false) => tally.rated_bad = 1,
            None => {}
        }
        Self {
            tally,
            channel,
            created_days,
            solved_at,
        }
    }
}
