//! The units a report counts for (county, townships, schools) and the counters kept per unit.

use std::collections::HashMap;

use super::history::History;
use crate::org::Org;

/// The county's townships and schools in report order, and where each interned school belongs.
pub(super) struct Units<'o> {
    pub(super) townships: Vec<&'o str>,
    pub(super) schools: Vec<&'o str>,
    /// (township, school) report indices by school name.
    by_name: HashMap<&'o str, (u32, u32)>,
    /// The same by interned school index.
    interned: Vec<(Option<u32>, Option<u32>)>,
}

impl<'o> Units<'o> {
    pub(super) fn new(h: &History, org: &'o Org) -> Units<'o> {
        let townships: Vec<&str> = org.townships.keys().map(String::as_str).collect();
        let t_ix: HashMap<&str, u32> = townships.iter().enumerate().map(|(i, t)| (*t, i as u32)).collect();
        let mut sch: Vec<&crate::org::School> = org.schools.values().collect();
        sch.sort_by(|a, b| (&a.township, &a.name).cmp(&(&b.township, &b.name)));
        let mut by_name = HashMap::new();
        for (i, s) in sch.iter().enumerate() {
            // A school whose township is missing from the township list (cannot come from the
            // org CSV) still counts for itself and the county.
            let t = t_ix.get(s.township.as_str()).copied().unwrap_or(u32::MAX);
            by_name.insert(s.name.as_str(), (t, i as u32));
        }
        let interned = h
            .schools
            .names
            .iter()
            .map(|n| match by_name.get(n.as_str()) {
                Some(&(t, s)) => ((t != u32::MAX).then_some(t), Some(s)),
                None => (None, None),
            })
            .collect();
        Units { townships, schools: sch.iter().map(|s| s.name.as_str()).collect(), by_name, interned }
    }

    pub(super) fn of(&self, school: u32) -> (Option<u32>, Option<u32>) {
        self.interned.get(school as usize).copied().unwrap_or((None, None))
    }

    pub(super) fn of_name(&self, name: &str) -> (Option<u32>, Option<u32>) {
        match self.by_name.get(name) {
            Some(&(t, s)) => ((t != u32::MAX).then_some(t), Some(s)),
            None => (None, None),
        }
    }
}

/// One accumulator per unit.
pub(super) struct Acc<T> {
    pub(super) county: T,
    pub(super) townships: Vec<T>,
    pub(super) schools: Vec<T>,
}

impl<T: Default + Clone> Acc<T> {
    pub(super) fn new(u: &Units) -> Acc<T> {
        Acc {
            county: T::default(),
            townships: vec![T::default(); u.townships.len()],
            schools: vec![T::default(); u.schools.len()],
        }
    }
    /// Applies `f` to the county and the school's township and school.
    pub(super) fn each(&mut self, (t, s): (Option<u32>, Option<u32>), mut f: impl FnMut(&mut T)) {
        f(&mut self.county);
        if let Some(t) = t {
            f(&mut self.townships[t as usize]);
        }
        if let Some(s) = s {
            f(&mut self.schools[s as usize]);
        }
    }
}
