//! The welcome decision: from a node's hello, where pushing and pulling resume and whether an epoch
//! must reset.

use super::messages::{Cursor, Hello, Welcome};
use crate::revision::RevId;

/// What the hub answers a Hello with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WelcomePlan {
    pub push_from: u64,
    pub push_check: Option<RevId>,
    pub reset_epoch: bool,
    pub pull_from: u64,
    /// The hub does not know the node's epoch: everything is pushed, and everything in scope is
    /// pulled, the node's own revisions included (it may have lost them).
    pub fresh: bool,
    pub refetch_own_below: u64,
    /// The node holds a cursor the hub's log cannot have produced: the hub was restored from
    /// backup. It must take a new epoch (so every node pulls again from the start).
    pub rotate_hub_epoch: bool,
}

/// The hub's decision on a Hello. `recorded` is the hub's durable push cursor for this node;
/// `hub_entry_at_pull` is the id of the hub's log entry just before the node's pull cursor
/// (looked up by the caller when that position is inside the hub's log).
pub fn plan_welcome(
    recorded: Option<&Cursor>,
    hello: &Hello,
    hub_epoch: u64,
    hub_log_end: u64,
    hub_entry_at_pull: Option<RevId>,
) -> WelcomePlan {
    let mut plan = WelcomePlan {
        push_from: 0,
        push_check: None,
        reset_epoch: false,
        pull_from: 0,
        fresh: false,
        refetch_own_below: 0,
        rotate_hub_epoch: false,
    };
    match recorded {
        Some(c) if c.epoch == hello.node_epoch => {
            if c.pos > hello.node_log_end {
                plan.reset_epoch = true;
                return plan;
            }
            plan.push_from = c.pos;
            plan.push_check = c.last;
        }
        // Unknown epoch (a new node, a rebuilt one, one restored from an older backup, or one
        // that just started a new epoch): everything, both ways.
        _ => {
            plan.fresh = true;
            plan.refetch_own_below = hub_log_end;
        }
    }
    if let Some(p) = &hello.pull {
        if plan.fresh {
            // Pull from the start, but still notice a hub restored from backup.
            if p.epoch == hub_epoch && (p.pos > hub_log_end || (p.pos > 0 && hub_entry_at_pull != p.last)) {
                plan.rotate_hub_epoch = true;
            }
        } else if p.epoch == hub_epoch {
            if p.pos > hub_log_end || (p.pos > 0 && hub_entry_at_pull != p.last) {
                plan.rotate_hub_epoch = true;
            } else {
                plan.pull_from = p.pos;
            }
        }
    }
    plan
}

/// Whether a node must start a new epoch on this Welcome: the hub says so, or the hub's cursor
/// does not point at the node's own log entry (`my_entry_at_check` is the node's entry at
/// `push_from - 1`, if the node has one there).
pub fn node_must_reset(w: &Welcome, my_log_end: u64, my_entry_at_check: Option<RevId>) -> bool {
    if w.reset_epoch {
        return true;
    }
    if w.push_from == 0 {
        return false;
    }
    w.push_from > my_log_end || my_entry_at_check != w.push_check
}
