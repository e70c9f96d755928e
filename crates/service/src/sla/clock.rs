//! How far along a ticket's targets are, replayed from what happened to it: the clocks
//! run while the ticket is new or open, stand still while it is pending on the
//! customer or solved, and each target is met by the reply or the solving it waits
//! for. A pure function of the history, so every node (and every replay of the same
//! event) arrives at the same answer.

use super::Calendar;

/// A promise a service level makes about a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// The first public answer from staff.
    FirstResponse,
    /// The next public answer after the customer wrote again.
    NextResponse,
    /// Solving the ticket.
    Resolution,
}

impl Target {
    pub const ALL: [Target; 3] = [Self::FirstResponse, Self::NextResponse, Self::Resolution];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstResponse => "first_response",
            Self::NextResponse => "next_response",
            Self::Resolution => "resolution",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// Whether the clocks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// New or open: the desk owes something.
    Running,
    /// Pending: waiting on the customer.
    Waiting,
    /// Solved or closed.
    Done,
}

/// What the clocks hear of a ticket's history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moment {
    Opened,
    /// A public reply by staff.
    StaffReplied,
    /// A public message from the customer's side.
    CustomerReplied,
    /// The status moved into this phase.
    Phase(Phase),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Happening {
    /// Unix milliseconds.
    pub at: i64,
    pub moment: Moment,
}

/// The targets a policy sets, in milliseconds of business time (or of calendar time
/// without a calendar).
#[derive(Clone, Copy, Debug, Default)]
pub struct Goals<'a> {
    pub first_response: Option<i64>,
    pub next_response: Option<i64>,
    pub resolution: Option<i64>,
    pub calendar: Option<&'a Calendar>,
}

impl Goals<'_> {
    fn of(&self, target: Target) -> Option<i64> {
        match target {
            Target::FirstResponse => self.first_response,
            Target::NextResponse => self.next_response,
            Target::Resolution => self.resolution,
        }
    }

    fn measure(&self, from: i64, to: i64) -> i64 {
        match self.calendar {
            Some(c) => c.between(from, to),
            None => (to - from).max(0),
        }
    }

    fn add(&self, from: i64, ms: i64) -> Option<i64> {
        match self.calendar {
            Some(c) => c.add(from, ms),
            None => from.checked_add(ms),
        }
    }
}

/// One target of one ticket, as far as it has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub target: Target,
    pub started_at: i64,
    /// When it falls due; `None` while the clock stands still with time left.
    pub due_at: Option<i64>,
    /// Business time left while the clock stands still.
    pub remaining_ms: Option<i64>,
    pub met_at: Option<i64>,
}

impl Progress {
    pub fn breached(&self, now: i64) -> bool {
        breached(self.met_at, self.due_at, now)
    }
}

/// Missed: met after it was due, or unmet and due by `now` (a clock standing still
/// with time left has missed nothing).
pub fn breached(met_at: Option<i64>, due_at: Option<i64>, now: i64) -> bool {
    match (met_at, due_at) {
        (Some(met), Some(due)) => met > due,
        (None, Some(due)) => due <= now,
        (_, None) => false,
    }
}

/// Every target `goals` sets, replayed from `history` (in the order it happened).
pub fn progress(goals: &Goals<'_>, history: &[Happening]) -> Vec<Progress> {
    let Some(opened) = history.first().map(|h| h.at) else {
        return Vec::new();
    };
    // The stretches of time the clocks run: (from, until), the last one open.
    let mut running: Vec<(i64, Option<i64>)> = vec![(opened, None)];
    let mut phase = Phase::Running;
    let mut first_response = None;
    let mut cycle: Option<(i64, Option<i64>)> = None;
    let mut solved_at = None;
    for h in history {
        // The customer answering a ticket that waited on them puts the desk back on
        // the clock (whether or not anyone reopens it): the same as it becoming open.
        let moment = match h.moment {
            Moment::CustomerReplied if phase == Phase::Waiting => {
                note_customer(&mut cycle, first_response, h.at);
                Moment::Phase(Phase::Running)
            }
            other => other,
        };
        match moment {
            Moment::Opened => {}
            Moment::StaffReplied => {
                first_response.get_or_insert(h.at);
                if let Some((_, met @ None)) = &mut cycle {
                    *met = Some(h.at);
                }
            }
            Moment::CustomerReplied => note_customer(&mut cycle, first_response, h.at),
            Moment::Phase(next) if next != phase => {
                if phase == Phase::Running
                    && let Some((_, until @ None)) = running.last_mut()
                {
                    *until = Some(h.at);
                }
                if next == Phase::Running {
                    running.push((h.at, None));
                }
                solved_at = (next == Phase::Done).then_some(h.at);
                phase = next;
            }
            Moment::Phase(_) => {}
        }
    }
    let mut out = Vec::new();
    for target in Target::ALL {
        let Some(goal) = goals.of(target) else { continue };
        let (started_at, met_at) = match target {
            Target::FirstResponse => (opened, first_response),
            Target::Resolution => (opened, solved_at),
            Target::NextResponse => match cycle {
                Some(c) => c,
                None => continue,
            },
        };
        // A met target's clock is read up to its meeting and as if running after it,
        // so its due time says whether it was met in time and nothing later moves it.
        let stretches: Vec<(i64, Option<i64>)> = match met_at {
            Some(met) => running
                .iter()
                .filter(|(from, _)| *from < met)
                .map(|&(from, until)| (from, Some(until.map_or(met, |u| u.min(met)))))
                .chain(std::iter::once((met, None)))
                .collect(),
            None => running.clone(),
        };
        let (due_at, remaining_ms) = due(goals, &stretches, started_at, goal);
        out.push(Progress {
            target,
            started_at,
            due_at,
            remaining_ms,
            met_at,
        });
    }
    out
}

/// A customer's message after the first answer starts a next-response cycle, unless
/// one is already waiting for its answer.
fn note_customer(cycle: &mut Option<(i64, Option<i64>)>, first_response: Option<i64>, at: i64) {
    let answered = cycle.is_none_or(|(_, met)| met.is_some());
    if first_response.is_some() && answered {
        *cycle = Some((at, None));
    }
}

/// When `goal` of running time from `start` is used up: an instant, or (with the
/// clock standing still now) the time still left.
fn due(
    goals: &Goals<'_>,
    running: &[(i64, Option<i64>)],
    start: i64,
    goal: i64,
) -> (Option<i64>, Option<i64>) {
    let mut left = goal;
    for &(from, until) in running {
        let from = from.max(start);
        match until {
            Some(until) if until <= from => continue,
            Some(until) => {
                let available = goals.measure(from, until);
                if available >= left {
                    return (goals.add(from, left), None);
                }
                left -= available;
            }
            None => return (goals.add(from, left), None),
        }
    }
    (None, Some(left))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::OpenPeriod;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    fn h(at: i64, moment: Moment) -> Happening {
        Happening { at, moment }
    }

    fn find(all: &[Progress], target: Target) -> Progress {
        *all.iter().find(|p| p.target == target).unwrap()
    }

    #[test]
    fn targets_in_calendar_time_pause_while_pending_and_meet_on_the_reply() {
        let goals = Goals {
            first_response: Some(HOUR),
            next_response: Some(2 * HOUR),
            resolution: Some(10 * HOUR),
            calendar: None,
        };
        let t0 = 1_000_000_000_000;
        let history = [
            h(t0, Moment::Opened),
            h(t0 + 30 * MIN, Moment::StaffReplied),
            h(t0 + 40 * MIN, Moment::Phase(Phase::Waiting)),
            // Nobody reopens the ticket: the customer's answer alone restarts the clocks.
            h(t0 + 3 * HOUR, Moment::CustomerReplied),
        ];
        let all = progress(&goals, &history);
        let first = find(&all, Target::FirstResponse);
        assert_eq!(
            (first.due_at, first.met_at),
            (Some(t0 + HOUR), Some(t0 + 30 * MIN))
        );
        assert!(!first.breached(t0 + 100 * HOUR));
        // The customer's answer starts the next-response clock.
        let next = find(&all, Target::NextResponse);
        assert_eq!(
            (next.started_at, next.due_at, next.met_at),
            (t0 + 3 * HOUR, Some(t0 + 5 * HOUR), None)
        );
        assert!(next.breached(t0 + 5 * HOUR) && !next.breached(t0 + 5 * HOUR - 1));
        // Resolution: 40 minutes ran before the pause, 140 minutes of it stood still.
        let resolution = find(&all, Target::Resolution);
        assert_eq!(resolution.due_at, Some(t0 + 10 * HOUR + 140 * MIN));

        // Pending again: the resolution clock stands still with its time left.
        let mut waiting = history.to_vec();
        waiting.push(h(t0 + 4 * HOUR, Moment::StaffReplied));
        waiting.push(h(t0 + 4 * HOUR, Moment::Phase(Phase::Waiting)));
        let all = progress(&goals, &waiting);
        let resolution = find(&all, Target::Resolution);
        assert_eq!(resolution.due_at, None);
        assert_eq!(resolution.remaining_ms, Some(10 * HOUR - 40 * MIN - HOUR));
        assert_eq!(find(&all, Target::NextResponse).met_at, Some(t0 + 4 * HOUR));
    }

    #[test]
    fn a_late_first_reply_is_a_breach_that_stays_one_and_solving_meets_resolution() {
        let goals = Goals {
            first_response: Some(HOUR),
            resolution: Some(8 * HOUR),
            ..Goals::default()
        };
        let t0 = 2_000_000_000_000;
        let history = [
            h(t0, Moment::Opened),
            h(t0 + 2 * HOUR, Moment::StaffReplied),
            h(t0 + 3 * HOUR, Moment::Phase(Phase::Done)),
        ];
        let all = progress(&goals, &history);
        assert!(find(&all, Target::FirstResponse).breached(t0 + 3 * HOUR));
        let resolution = find(&all, Target::Resolution);
        assert_eq!(resolution.met_at, Some(t0 + 3 * HOUR));
        assert!(!resolution.breached(t0 + 100 * HOUR));
        // Reopened: resolution runs again from where it stood, met no longer.
        let mut reopened = history.to_vec();
        reopened.push(h(t0 + 10 * HOUR, Moment::Phase(Phase::Running)));
        let resolution = find(&progress(&goals, &reopened), Target::Resolution);
        assert_eq!(resolution.met_at, None);
        assert_eq!(resolution.due_at, Some(t0 + 15 * HOUR));
        // No next-response target without a customer message after the first answer.
        assert!(
            progress(&goals, &reopened)
                .iter()
                .all(|p| p.target != Target::NextResponse)
        );
    }

    #[test]
    fn business_hours_carry_a_target_over_the_night() {
        let calendar = Calendar::new(
            "UTC",
            &(0..7)
                .map(|weekday| OpenPeriod {
                    weekday,
                    start: 9 * 60,
                    end: 17 * 60,
                })
                .collect::<Vec<_>>(),
            &[],
        )
        .unwrap();
        let goals = Goals {
            first_response: Some(2 * HOUR),
            calendar: Some(&calendar),
            ..Goals::default()
        };
        // Opened at 16:00 UTC on 2 January 2026: one hour that day, one the next.
        let opened = 1_767_369_600_000;
        let all = progress(&goals, &[h(opened, Moment::Opened)]);
        assert_eq!(find(&all, Target::FirstResponse).due_at, Some(opened + 18 * HOUR));
    }
}
