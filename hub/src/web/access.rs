//! Who may see and do what in the county's dashboard — the one place the hub's roles and scopes
//! are decided. Every handler asks here; none decides on its own.
//!
//! | role | key | sees | may also |
//! |---|---|---|---|
//! | 教育局管理员 | `admin` | the whole county | everything 基教股 may; user accounts |
//! | 基教股 | `bureau` | the whole county | resolve conflicts, census lists, full ID numbers (logged) |
//! | 乡镇 | `township` | their own township only; ID numbers masked | downloads of their township |
//! | 督导 | `inspector` | the whole county, read only; ID numbers masked | downloads |

use baoxue_shared::Record;
use baoxue_web::{CurrentUser, WebError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Bureau,
    Township,
    Inspector,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Bureau, Role::Township, Role::Inspector];

    pub fn key(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Bureau => "bureau",
            Role::Township => "township",
            Role::Inspector => "inspector",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "教育局管理员",
            Role::Bureau => "基教股",
            Role::Township => "乡镇",
            Role::Inspector => "督导",
        }
    }

    /// From a key or the Chinese label.
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim() {
            "admin" | "教育局管理员" | "管理员" => Some(Role::Admin),
            "bureau" | "基教股" | "教育局" => Some(Role::Bureau),
            "township" | "乡镇" => Some(Role::Township),
            "inspector" | "督导" => Some(Role::Inspector),
            _ => None,
        }
    }
}

/// What a role may do beyond reading its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perm {
    /// Resolve conflicts, upload census lists, change what the county's data says.
    Write,
    /// Show a full 身份证号 (logged).
    FullId,
    /// The audit log and the accounts.
    Audit,
    /// Manage user accounts.
    Users,
}

pub fn allows(role: Role, perm: Perm) -> bool {
    match perm {
        Perm::Write | Perm::FullId | Perm::Audit => matches!(role, Role::Admin | Role::Bureau),
        Perm::Users => role == Role::Admin,
    }
}

/// A user's access, from their account.
#[derive(Debug, Clone)]
pub struct Access {
    pub role: Role,
    /// The township of a 乡镇 account; None: the whole county.
    pub township: Option<String>,
}

impl Access {
    pub fn of(user: &CurrentUser) -> Result<Access, WebError> {
        let role =
            Role::parse(&user.role).ok_or_else(|| WebError::Forbidden("账户角色无效，请联系教育局管理员".into()))?;
        let township = match role {
            Role::Township => Some(
                user.scope
                    .first()
                    .filter(|t| !t.trim().is_empty())
                    .cloned()
                    .ok_or_else(|| WebError::Forbidden("乡镇账户未指定乡镇，请联系教育局管理员".into()))?,
            ),
            _ => None,
        };
        Ok(Access { role, township })
    }

    pub fn may(&self, p: Perm) -> bool {
        allows(self.role, p)
    }

    /// Refuses unless the role may `p`.
    pub fn require(&self, p: Perm) -> Result<(), WebError> {
        if self.may(p) {
            Ok(())
        } else {
            Err(WebError::Forbidden(format!("{}账户无权进行此操作", self.role.label())))
        }
    }

    /// Whether the user sees the county's whole figures (every township).
    pub fn county_wide(&self) -> bool {
        self.township.is_none()
    }

    /// Whether a township is in scope.
    pub fn sees_township(&self, t: &str) -> bool {
        self.township.as_deref().is_none_or(|mine| mine == t)
    }

    /// Refuses a township out of scope (as not found: no existence is revealed).
    pub fn check_township(&self, t: &str) -> Result<(), WebError> {
        if self.sees_township(t) {
            Ok(())
        } else {
            Err(WebError::NotFound("未找到该乡镇，或不在您的查看范围内".into()))
        }
    }

    /// Refuses a case out of scope.
    pub fn check_case(&self, case: &Record) -> Result<(), WebError> {
        let t = case.case.as_ref().map(|c| c.township.as_str()).unwrap_or("");
        if self.sees_township(t) {
            Ok(())
        } else {
            Err(WebError::NotFound("未找到该案件，或不在您的查看范围内".into()))
        }
    }

    /// An ID number as this user sees it by default: always masked (a full number is only
    /// ever shown by the logged full-ID action).
    pub fn masked(&self, id: &baoxue_shared::ids::IdNumber) -> String {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: &str, scope: &[&str]) -> CurrentUser {
        CurrentUser {
            login: "u".into(),
            name: "某".into(),
            role: role.into(),
            role_label: String::new(),
            scope: scope.iter().map(|s| s.to_string()).collect(),
            csrf: String::new(),
            address: String::new(),
            must_change: false,
        }
    }

    #[test]
    fn scopes_and_permissions() {
        let t = Access::of(&user("township", &["鸦岭"])).unwrap();
        assert!(t.sees_township("鸦岭") && !t.sees_township("白沙"));
        assert!(!t.may(Perm::Write) && !t.may(Perm::FullId));
        assert!(t.check_township("白沙").is_err());
        assert!(Access::of(&user("township", &[])).is_err(), "a township account needs its township");
        let i = Access::of(&user("inspector", &[])).unwrap();
        assert!(i.sees_township("白沙") && !i.may(Perm::Write));
        let b = Access::of(&user("bureau", &[])).unwrap();
        assert!(b.may(Perm::Write) && b.may(Perm::FullId) && !b.may(Perm::Users));
        assert!(Access::of(&user("admin", &[])).unwrap().may(Perm::Users));
        assert!(Access::of(&user("teacher", &[])).is_err());
    }
}
