//! Automatic assignment: a team that asks for it has its waiting tickets (new or open,
//! nobody holding them) given to its agents who are not away, in turn
//! (`round_robin`) or to whoever holds the fewest unsolved tickets (`least_open`),
//! never beyond the team's cap. Each assignment is an ordinary ticket update by the
//! automation account with an agent's rights in the team, based on the version read,
//! so two nodes racing give a ticket to one agent and a person's assignment made
//! meanwhile always wins.

use std::collections::HashMap;

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{TeamId, TicketStatus, UserId};
use palisade_i18n::Refusal;
use palisade_policy::{Action, Resource};
use palisade_store::{TeamRecord, TicketUpdate};
use serde_json::json;

use super::rule_principal;
use crate::{Actor, Channel, Desk, ServiceError};

/// How a team's tickets are assigned automatically.
pub const ASSIGNMENT_MODES: [&str; 3] = ["off", "round_robin", "least_open"];
/// Tickets assigned per team per round.
const ROUND: u32 = 50;
/// How automatic assignment names itself in the chain of rules its changes carry.
const ASSIGNER: &str = "auto_assign";
/// The lease one assigning node holds, and for how long at most.
const ASSIGNMENT_LEASE: &str = "auto_assignment";
const LEASE_MS: i64 = 30_000;
/// The largest cap a team may set.
pub const MAX_ASSIGN_CAP: i64 = 1000;

/// A team's mode and cap as stored: a known mode, a cap of 1 to [`MAX_ASSIGN_CAP`].
pub(crate) fn valid_assignment(mode: Option<&str>, cap: Option<Option<i64>>) -> Result<(), ServiceError> {
    if let Some(mode) = mode
        && !ASSIGNMENT_MODES.contains(&mode)
    {
        return Err(ServiceError::invalid("refusal-assign-mode"));
    }
    if let Some(Some(cap)) = cap
        && !(1..=MAX_ASSIGN_CAP).contains(&cap)
    {
        return Err(ServiceError::Invalid(
            Refusal::new("refusal-assign-cap").with("max", MAX_ASSIGN_CAP),
        ));
    }
    Ok(())
}

/// The next agent for a ticket, from `present` (sorted by id), or nobody when
/// everyone is at the cap.
fn choose(
    mode: &str,
    present: &[UserId],
    load: &HashMap<UserId, i64>,
    cap: Option<i64>,
    after: Option<&str>,
) -> Option<UserId> {
    let held = |u: &UserId| load.get(u).copied().unwrap_or(0);
    // The round's order: those after the last one given a ticket, then the rest.
    let split = after.map_or(0, |a| {
        present
            .iter()
            .position(|u| u.as_str() > a)
            .unwrap_or(present.len())
    });
    let order = present[split..].iter().chain(present[..split].iter());
    let eligible = order.filter(|u| cap.is_none_or(|c| held(u) < c));
    match mode {
        "least_open" => {
            let mut best: Option<&UserId> = None;
            for u in eligible {
                if best.is_none_or(|b| held(u) < held(b)) {
                    best = Some(u);
                }
            }
            best.cloned()
        }
        _ => eligible.into_iter().next().cloned(),
    }
}

impl Desk {
    /// Marks the actor away (no tickets are given them automatically) or back.
    pub async fn set_available(&self, actor: &Actor, available: bool) -> Result<(), ServiceError> {
        self.authorize(actor, Action::EnterWorkspace, &Resource::Directory)
            .await?;
        self.store
            .set_user_away(&actor.principal.user_id, !available)
            .await?;
        let event = AuditEvent::new(
            AuditAction::AvailabilityChanged,
            actor.principal.user_id.to_string(),
            Outcome::Success,
        )
        .with_detail(json!({ "available": available }));
        self.store.audit(&actor.audit, &event).await?;
        Ok(())
    }

    /// Whether the actor takes tickets automatically (not away).
    pub async fn available(&self, actor: &Actor) -> Result<bool, ServiceError> {
        Ok(!self.store.user_away(&actor.principal.user_id).await?)
    }

    /// Gives waiting tickets to agents in every team that assigns automatically;
    /// returns how many it assigned.
    pub async fn assign_waiting(&self) -> Result<usize, ServiceError> {
        let teams: Vec<TeamRecord> = self
            .store
            .list_teams()
            .await?
            .into_iter()
            .filter(|t| t.auto_assign != "off")
            .collect();
        if teams.is_empty() {
            return Ok(0);
        }
        let automaton = self.automaton().await?;
        // One node assigns at a time (a lease, as the event subscribers have), so the
        // round and the caps hold across a cluster; one that dies holding it is
        // replaced when the lease runs out.
        let owner = palisade_core::unique_name("assign-");
        if self
            .store
            .lease_subscription(ASSIGNMENT_LEASE, &owner, LEASE_MS, 0)
            .await?
            .is_none()
        {
            return Ok(0);
        }
        let mut load = self.store.open_load().await?;
        let mut assigned = 0;
        let mut failure = None;
        for team in teams {
            // Renewed per team: a long round never outlives its lease.
            if self
                .store
                .lease_subscription(ASSIGNMENT_LEASE, &owner, LEASE_MS, 0)
                .await?
                .is_none()
            {
                break;
            }
            let round = super::RULE_CHAIN.scope(
                vec![ASSIGNER.to_owned()],
                self.assign_team(&team, &automaton, &mut load),
            );
            match round.await {
                Ok(n) => assigned += n,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        self.store.release_lease(ASSIGNMENT_LEASE, &owner).await?;
        match failure {
            Some(e) => Err(e),
            None => Ok(assigned),
        }
    }

    async fn assign_team(
        &self,
        team: &TeamRecord,
        automaton: &UserId,
        load: &mut HashMap<UserId, i64>,
    ) -> Result<usize, ServiceError> {
        let waiting = self.store.waiting_for_assignment(&team.id, ROUND).await?;
        if waiting.is_empty() {
            return Ok(0);
        }
        let mut present = Vec::new();
        for user in self.store.present_members(&team.id).await? {
            if self.store.get_user(&user).await?.role.takes_assignments() {
                present.push(user);
            }
        }
        let actor = assigner(automaton, &team.id);
        let mut cursor = team.assign_cursor.clone();
        let mut assigned = 0;
        for ticket in waiting {
            let Some(agent) = choose(
                &team.auto_assign,
                &present,
                load,
                team.assign_cap,
                cursor.as_deref(),
            ) else {
                break;
            };
            let current = self.store.get_ticket(&ticket).await?;
            // Read again: someone (another node) may have taken it since the list was
            // made; the version then makes sure nobody does before the update.
            if current.assignee.is_some()
                || current.merged_into.is_some()
                || current.team != team.id
                || !matches!(current.status, TicketStatus::New | TicketStatus::Open)
            {
                continue;
            }
            if self.unassigned_in_reply(&ticket).await? {
                continue;
            }
            let update = TicketUpdate {
                assignee: Some(Some(agent.clone())),
                ..TicketUpdate::default()
            };
            match self
                .update_ticket(&actor, ticket.as_str(), update, Some(current.version))
                .await
            {
                Ok(_) => {
                    *load.entry(agent.clone()).or_insert(0) += 1;
                    self.store.set_assign_cursor(&team.id, &agent).await?;
                    cursor = Some(agent.to_string());
                    assigned += 1;
                }
                // Someone (a person, another node) changed it meanwhile: theirs stands.
                Err(ServiceError::Stale(_) | ServiceError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(assigned)
    }
}

impl Desk {
    /// Whether a rule took the ticket away in answer to an automatic assignment: then
    /// it stays unassigned, or the two would take turns for ever.
    async fn unassigned_in_reply(&self, ticket: &palisade_core::TicketId) -> Result<bool, ServiceError> {
        let events = self.store.events_of(ticket.as_str(), i64::MAX).await?;
        let Some(last) = events.iter().rev().find(|e| e.kind == "ticket.assigned") else {
            return Ok(false);
        };
        let detail: serde_json::Value = serde_json::from_str(&last.detail).unwrap_or_default();
        Ok(detail["to"].is_null()
            && detail["rules"]
                .as_array()
                .is_some_and(|chain| chain.iter().any(|r| r == ASSIGNER)))
    }
}

fn assigner(automaton: &UserId, team: &TeamId) -> Actor {
    Actor {
        principal: rule_principal(automaton, team),
        audit: AuditContext {
            actor: "auto_assign".to_owned(),
            ..AuditContext::default()
        },
        channel: Channel::Automation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(n: usize) -> Vec<UserId> {
        let mut u: Vec<UserId> = (0..n).map(|_| UserId::generate()).collect();
        u.sort();
        u
    }

    #[test]
    fn the_round_goes_on_after_the_last_agent_and_skips_those_at_the_cap() {
        let u = users(3);
        let mut load = HashMap::new();
        assert_eq!(choose("round_robin", &u, &load, None, None), Some(u[0].clone()));
        assert_eq!(
            choose("round_robin", &u, &load, None, Some(u[0].as_str())),
            Some(u[1].clone())
        );
        assert_eq!(
            choose("round_robin", &u, &load, None, Some(u[2].as_str())),
            Some(u[0].clone())
        );
        load.insert(u[1].clone(), 2);
        assert_eq!(
            choose("round_robin", &u, &load, Some(2), Some(u[0].as_str())),
            Some(u[2].clone())
        );
        load.insert(u[0].clone(), 2);
        load.insert(u[2].clone(), 2);
        assert_eq!(choose("round_robin", &u, &load, Some(2), None), None);
        assert_eq!(choose("round_robin", &[], &load, None, None), None);
    }

    #[test]
    fn least_open_takes_the_lightest_load_in_round_order() {
        let u = users(3);
        let load = HashMap::from([(u[0].clone(), 3), (u[1].clone(), 1), (u[2].clone(), 1)]);
        assert_eq!(choose("least_open", &u, &load, None, None), Some(u[1].clone()));
        assert_eq!(
            choose("least_open", &u, &load, None, Some(u[1].as_str())),
            Some(u[2].clone())
        );
        assert_eq!(choose("least_open", &u, &load, Some(1), None), None);
    }

    #[test]
    fn modes_and_caps_are_checked() {
        assert!(valid_assignment(Some("round_robin"), Some(Some(5))).is_ok());
        assert!(valid_assignment(Some("random"), None).is_err());
        assert!(valid_assignment(None, Some(Some(0))).is_err());
        assert!(valid_assignment(None, Some(None)).is_ok());
    }
}
