//! The fields of the 家访记录表 (001 附件2) that a home visit records beyond its date and
//! visiting teacher (the action's own `date` and `by`): 陪同教师, 家访原因, 住址, 家访内容,
//! 学校意见, 家长意见. They travel in the action's text as labelled lines (`住址：东村3组`), so a
//! visit recorded on the command line (`case act --kind visit --text …`) or before these fields
//! existed reads back as its 家访内容, and the ledger's model is unchanged: the form writes
//! them, the printable and the case page read them back.

/// One home visit's 附件2 fields (empty: not recorded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisitRecord {
    pub companion: String,
    pub reason: String,
    pub address: String,
    pub content: String,
    pub school_opinion: String,
    pub parent_opinion: String,
}

const COMPANION: &str = "陪同教师";
const REASON: &str = "家访原因";
const ADDRESS: &str = "住址";
const CONTENT: &str = "家访内容";
const SCHOOL: &str = "学校意见";
const PARENT: &str = "家长意见";
const LABELS: [&str; 6] = [COMPANION, REASON, ADDRESS, CONTENT, SCHOOL, PARENT];

impl VisitRecord {
    fn slots(&self) -> [(&'static str, &String); 6] {
        [
            (COMPANION, &self.companion),
            (REASON, &self.reason),
            (ADDRESS, &self.address),
            (CONTENT, &self.content),
            (SCHOOL, &self.school_opinion),
            (PARENT, &self.parent_opinion),
        ]
    }

    fn slot_mut(&mut self, label: &str) -> Option<&mut String> {
        Some(match label {
            COMPANION => &mut self.companion,
            REASON => &mut self.reason,
            ADDRESS => &mut self.address,
            CONTENT => &mut self.content,
            SCHOOL => &mut self.school_opinion,
            PARENT => &mut self.parent_opinion,
            _ => return None,
        })
    }

    /// The action's text: one `标签：值` line per recorded field; none when nothing was.
    pub fn to_text(&self) -> Option<String> {
        let lines: Vec<String> = self
            .slots()
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}：{}", v.trim()))
            .collect();
        (!lines.is_empty()).then(|| lines.join("\n"))
    }

    /// Reads a visit's text back. Lines that start with no label continue the field before
    /// them; text with no label at all is the 家访内容.
    pub fn parse(text: &str) -> VisitRecord {
        let mut v = VisitRecord::default();
        let mut current = CONTENT;
        for line in text.lines() {
            let labelled =
                line.split_once('：').and_then(|(k, rest)| LABELS.iter().find(|l| **l == k.trim()).map(|l| (*l, rest)));
            let (label, rest) = labelled.unwrap_or((current, line));
            current = label;
            if let Some(slot) = v.slot_mut(current) {
                if !slot.is_empty() {
                    slot.push('\n');
                }
                slot.push_str(rest.trim());
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_plain_text_is_the_content() {
        let v = VisitRecord {
            companion: "陈老师".into(),
            address: "东村3组".into(),
            content: "见到母亲\n孩子在家".into(),
            parent_opinion: "同意下周一送回".into(),
            ..Default::default()
        };
        let text = v.to_text().expect("text");
        assert!(text.starts_with("陪同教师：陈老师\n住址：东村3组\n家访内容：见到母亲"), "{text}");
        assert_eq!(VisitRecord::parse(&text), v);
        let plain = VisitRecord::parse("见到母亲，住址：不详");
        assert_eq!(plain.content, "见到母亲，住址：不详");
        assert_eq!(VisitRecord::default().to_text(), None);
    }
}
