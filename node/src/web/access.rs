//! Who may see and do what in the school app — the one place roles and scopes are decided.
//!
//! | role | key | sees | may also |
//! |---|---|---|---|
//! | 班主任 | `teacher` | the classes assigned to them (`学校/年级/班`) | roll call, case actions for those children |
//! | 校长/学校管理员 | `principal` | their school | assign classes, import the roster, year-end promotion, full ID numbers, .xlsx downloads, withdraw an earlier day's absence, reopen a closed case |
//! | 乡镇 | `township` | the whole township | case actions, notices, full ID numbers, .xlsx downloads |
//! | 管理员 | `admin` | the whole township | users, sync, everything above |

use baoxue_shared::Record;
use baoxue_web::{CurrentUser, WebError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Teacher,
    Principal,
    Township,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Teacher, Role::Principal, Role::Township, Role::Admin];

    pub fn key(self) -> &'static str {
        match self {
            Role::Teacher => "teacher",
            Role::Principal => "principal",
            Role::Township => "township",
            Role::Admin => "admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Teacher => "班主任",
            Role::Principal => "校长/学校管理员",
            Role::Township => "乡镇",
            Role::Admin => "管理员",
        }
    }

    /// From a key or a Chinese label (`班主任`, `校长`, `学校管理员`, `乡镇`, `管理员`).
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim() {
            "teacher" | "班主任" => Some(Role::Teacher),
            "principal" | "校长" | "学校管理员" | "校长/学校管理员" | "学籍管理员" => {
                Some(Role::Principal)
            }
            "township" | "乡镇" => Some(Role::Township),
            "admin" | "管理员" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// What a role may do beyond seeing its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perm {
    /// Record today's roll call for a class in scope.
    RollCall,
    /// Record actions and details on a case in scope.
    CaseWrite,
    /// Confirm 辍学, serve notices, close cases.
    CaseDecide,
    /// Assign classes to the teachers of their school.
    AssignClasses,
    /// Import a roster, export the ledger.
    Roster,
    /// Year-end promotion and graduation.
    Promote,
    /// Show a full ID number (logged).
    FullId,
    /// Manage user accounts.
    Users,
    /// Sync with the county hub now.
    Sync,
    /// Download the roster and the case ledger as .xlsx (IDs masked; logged).
    Export,
    /// Withdraw an absence recorded on an earlier day (the class teacher may withdraw only the
    /// same day's, through [`Perm::RollCall`]).
    WithdrawLate,
    /// Reopen a case closed by mistake (with a reason).
    Reopen,
}

/// The table of the module docs.
pub fn allows(role: Role, perm: Perm) -> bool {
    use Perm::*;
    match role {
        Role::Admin => true,
        Role::Teacher => matches!(perm, RollCall | CaseWrite),
        Role::Principal => {
            matches!(
                perm,
                RollCall
                    | CaseWrite
                    | CaseDecide
                    | AssignClasses
                    | Roster
                    | Promote
                    | FullId
                    | Export
                    | WithdrawLate
                    | Reopen
            )
        }
        Role::Township => matches!(perm, RollCall | CaseWrite | CaseDecide | FullId | Export),
    }
}

/// A class: school, grade and class name as the roster holds them (`2`, `2班` are one class).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClassKey {
    pub school: String,
    pub grade: u8,
    pub class: String,
}

impl ClassKey {
    pub fn of(rec: &Record) -> Option<ClassKey> {
        Some(ClassKey {
            school: rec.school()?.to_string(),
            grade: rec.grade()?,
            class: norm_class(rec.text(baoxue_shared::Field::Class).unwrap_or("")),
        })
    }

    /// `学校/年级/班`.
    pub fn parse(s: &str) -> Option<ClassKey> {
        let mut it = s.split('/');
        let school = it.next()?.trim().to_string();
        let grade = it.next()?.trim().trim_end_matches('年').trim_end_matches("年级").parse().ok()?;
        let class = norm_class(it.next().unwrap_or(""));
        if school.is_empty() || it.next().is_some() {
            return None;
        }
        Some(ClassKey { school, grade, class })
    }

    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.school, self.grade, self.class)
    }

    /// `鸦岭中心小学 4年级2班`.
    pub fn label(&self) -> String {
        if self.class.is_empty() {
            format!("{} {}年级", self.school, self.grade)
        } else {
            format!("{} {}年级{}班", self.school, self.grade, self.class)
        }
    }
}

fn norm_class(c: &str) -> String {
    c.trim().trim_end_matches('班').trim().to_string()
}

/// What a user may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Classes(Vec<ClassKey>),
    School(String),
    Township,
}

/// The logged-in user with their role and scope decoded.
#[derive(Debug, Clone)]
pub struct Access {
    pub role: Role,
    pub scope: Scope,
    pub login: String,
    pub name: String,
}

impl Access {
    pub fn of(user: &CurrentUser) -> Result<Access, WebError> {
        let role =
            Role::parse(&user.role).ok_or_else(|| WebError::Forbidden(format!("账户角色「{}」无效", user.role)))?;
        let scope = match role {
            Role::Teacher => Scope::Classes(user.scope.iter().filter_map(|s| ClassKey::parse(s)).collect()),
            Role::Principal => Scope::School(user.scope.first().cloned().unwrap_or_default()),
            Role::Township | Role::Admin => Scope::Township,
        };
        Ok(Access { role, scope, login: user.login.clone(), name: user.name.clone() })
    }

    pub fn may(&self, perm: Perm) -> bool {
        allows(self.role, perm)
    }

    pub fn require(&self, perm: Perm) -> Result<(), WebError> {
        if self.may(perm) {
            Ok(())
        } else {
            Err(WebError::Forbidden(format!("{}不能进行此操作", self.role.label())))
        }
    }

    pub fn sees_class(&self, c: &ClassKey) -> bool {
        match &self.scope {
            Scope::Classes(cs) => cs.contains(c),
            Scope::School(s) => &c.school == s,
            Scope::Township => true,
        }
    }

    pub fn sees_school(&self, school: &str) -> bool {
        match &self.scope {
            Scope::Classes(cs) => cs.iter().any(|c| c.school == school),
            Scope::School(s) => s == school,
            Scope::Township => true,
        }
    }

    /// A student of this township in the user's scope.
    pub fn sees_student(&self, rec: &Record) -> bool {
        match &self.scope {
            Scope::Classes(_) => ClassKey::of(rec).map(|c| self.sees_class(&c)).unwrap_or(false),
            Scope::School(s) => rec.school() == Some(s.as_str()),
            Scope::Township => true,
        }
    }

    /// A case: through its student when it has one, else by its school (失学 children without
    /// a school are seen by township-wide roles only).
    pub fn sees_case(&self, case: &Record, student: Option<&Record>) -> bool {
        if let Some(s) = student {
            return self.sees_student(s);
        }
        match &self.scope {
            Scope::Township => true,
            Scope::School(s) => case.case.as_ref().and_then(|i| i.school.as_deref()) == Some(s.as_str()),
            Scope::Classes(_) => false,
        }
    }

    pub fn check_student(&self, rec: &Record) -> Result<(), WebError> {
        if self.sees_student(rec) {
            Ok(())
        } else {
            Err(WebError::NotFound("未找到该学生（或不在您负责的范围内）".into()))
        }
    }

    pub fn check_case(&self, case: &Record, student: Option<&Record>) -> Result<(), WebError> {
        if self.sees_case(case, student) {
            Ok(())
        } else {
            Err(WebError::NotFound("未找到该案件（或不在您负责的范围内）".into()))
        }
    }
}
