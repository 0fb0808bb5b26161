//! Event classes: the class a point reports its events in, and sets of classes as masters ask
//! for them and outstations enable them (class 0 is static data; IEEE 1815-2012, clause 4).

use super::Variation;

/// The event class a point reports its changes in; `None` means the point creates no events
/// (it is still reported in class 0).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum EventClass {
    /// No events.
    #[default]
    None,
    /// Class 1 (usually the most urgent).
    Class1,
    /// Class 2.
    Class2,
    /// Class 3.
    Class3,
}

impl From<EventClass> for Classes {
    fn from(class: EventClass) -> Classes {
        match class {
            EventClass::None => Classes::NONE,
            EventClass::Class1 => Classes::CLASS1,
            EventClass::Class2 => Classes::CLASS2,
            EventClass::Class3 => Classes::CLASS3,
        }
    }
}

/// A set of event classes and class 0 (static data).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Classes(u8);

impl Classes {
    /// No class.
    pub const NONE: Classes = Classes(0);
    /// Class 0: static data.
    pub const CLASS0: Classes = Classes(1);
    /// Class 1 events.
    pub const CLASS1: Classes = Classes(2);
    /// Class 2 events.
    pub const CLASS2: Classes = Classes(4);
    /// Class 3 events.
    pub const CLASS3: Classes = Classes(8);
    /// Classes 1, 2 and 3.
    pub const EVENTS: Classes = Classes(14);
    /// Classes 0, 1, 2 and 3.
    pub const ALL: Classes = Classes(15);

    /// True when every class of `other` is included.
    pub fn contains(self, other: Classes) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when no class is included.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when the set holds the class of `class` (`EventClass::None` never is).
    pub fn includes(self, class: EventClass) -> bool {
        let c = Classes::from(class);
        !c.is_empty() && self.contains(c)
    }

    /// The union of two sets.
    pub fn union(self, other: Classes) -> Classes {
        Classes(self.0 | other.0)
    }

    /// This set without the classes of `other`.
    pub fn without(self, other: Classes) -> Classes {
        Classes(self.0 & !other.0)
    }

    /// The event class reported by the g60 variation `v` (g60v2..g60v4), if it is one.
    pub fn of_event_variation(v: Variation) -> Option<Classes> {
        match v {
            Variation::Group60Var2 => Some(Classes::CLASS1),
            Variation::Group60Var3 => Some(Classes::CLASS2),
            Variation::Group60Var4 => Some(Classes::CLASS3),
            _ => None,
        }
    }

    /// The event classes (1, 2, 3) present, as their g60 variations.
    pub fn event_variations(self) -> impl Iterator<Item = Variation> {
        [
            (Classes::CLASS1, Variation::Group60Var2),
            (Classes::CLASS2, Variation::Group60Var3),
            (Classes::CLASS3, Variation::Group60Var4),
        ]
        .into_iter()
        .filter(move |(c, _)| self.contains(*c))
        .map(|(_, v)| v)
    }
}

impl std::ops::BitOr for Classes {
    type Output = Classes;
    fn bitor(self, rhs: Classes) -> Classes {
        Classes(self.0 | rhs.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_of_classes_combine_and_include_event_classes() {
        let m = Classes::CLASS1.union(Classes::CLASS3);
        assert!(m.includes(EventClass::Class1) && !m.includes(EventClass::Class2));
        assert!(!m.includes(EventClass::None));
        assert_eq!(m.without(Classes::CLASS1), Classes::CLASS3);
        assert!(Classes::NONE.is_empty());
        assert_eq!(
            Classes::CLASS1 | Classes::CLASS2 | Classes::CLASS3,
            Classes::EVENTS
        );
        let v: Vec<_> = Classes::EVENTS.event_variations().collect();
        assert_eq!(v.len(), 3);
        assert_eq!(Classes::of_event_variation(v[1]), Some(Classes::CLASS2));
    }
}
