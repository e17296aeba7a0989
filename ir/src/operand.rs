//! The one vocabulary of operand types: what the validator checks every
//! comparison, `in` and membership against, and what both evaluation
//! backends dispatch on. A list is a field type, never an operand type: a
//! list field is only ever the list of a membership test.

use crate::program::FieldType;

/// The type of a condition's operand: a scalar field, `now`, or a constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperandType {
    /// A bool field.
    Bool,
    /// An int field or constant; compared with a float, it converts to float.
    Int,
    /// A float field or constant.
    Float,
    /// A string field or constant.
    String,
    /// A semantic version, compared by precedence.
    Semver,
    /// A timestamp field, a timestamp constant, or `now`.
    Timestamp,
    /// An address, IPv4 or IPv6: `==`, `!=` and `in` ranges only.
    Ip,
    /// An enum, with its number of values. Two enums of the same size
    /// compare as one type: the bundle names values by index only.
    Enum(usize),
}

impl OperandType {
    /// The type of a field of type `ty` used as an operand; `None` for a
    /// list.
    pub fn of_field(ty: &FieldType) -> Option<OperandType> {
        Some(match ty {
            FieldType::Bool => OperandType::Bool,
            FieldType::Int => OperandType::Int,
            FieldType::Float => OperandType::Float,
            FieldType::String => OperandType::String,
            FieldType::Semver => OperandType::Semver,
            FieldType::Timestamp => OperandType::Timestamp,
            FieldType::Ip => OperandType::Ip,
            FieldType::Enum(values) => OperandType::Enum(values.len()),
            FieldType::List(_) => return None,
        })
    }

    /// The type of a list's items; `None` for a field that is not a list,
    /// or a list of lists.
    pub fn of_items(ty: &FieldType) -> Option<OperandType> {
        match ty {
            FieldType::List(item) => OperandType::of_field(item),
            _ => None,
        }
    }

    /// Whether `<`, `<=`, `>` and `>=` apply. Booleans, strings and
    /// addresses have only `==` and `!=` (strings have their own operators,
    /// addresses `in` ranges).
    pub fn is_ordered(self) -> bool {
        !matches!(
            self,
            OperandType::Bool | OperandType::String | OperandType::Ip
        )
    }

    /// The type at which operands of types `a` and `b` compare: their
    /// type when they have one, `Float` for an int meeting a float (the
    /// int converts), and `None` when they cannot be compared. Nothing
    /// else converts.
    pub fn compared_at(a: OperandType, b: OperandType) -> Option<OperandType> {
        match (a, b) {
            _ if a == b => Some(a),
            (OperandType::Int, OperandType::Float) | (OperandType::Float, OperandType::Int) => {
                Some(OperandType::Float)
            }
            _ => None,
        }
    }

    /// The type as the language writes it, for validation messages.
    pub fn as_str(self) -> &'static str {
        match self {
            OperandType::Bool => "bool",
            OperandType::Int => "int",
            OperandType::Float => "float",
            OperandType::String => "string",
            OperandType::Semver => "semver",
            OperandType::Timestamp => "timestamp",
            OperandType::Ip => "ip",
            OperandType::Enum(_) => "enum",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OperandType as T;
    use crate::FieldType;

    #[test]
    fn int_meets_float_at_float_and_nothing_else_converts() {
        assert_eq!(T::compared_at(T::Int, T::Float), Some(T::Float));
        assert_eq!(T::compared_at(T::Float, T::Int), Some(T::Float));
        assert_eq!(T::compared_at(T::Int, T::Int), Some(T::Int));
        assert_eq!(T::compared_at(T::Int, T::Timestamp), None);
        assert_eq!(T::compared_at(T::Enum(2), T::Enum(3)), None);
        assert_eq!(T::compared_at(T::Enum(3), T::Enum(3)), Some(T::Enum(3)));
    }

    #[test]
    fn lists_are_not_operands_but_their_items_are() {
        let list = FieldType::List(Box::new(FieldType::Semver));
        assert_eq!(T::of_field(&list), None);
        assert_eq!(T::of_items(&list), Some(T::Semver));
        assert_eq!(T::of_items(&FieldType::Int), None);
        let nested = FieldType::List(Box::new(list));
        assert_eq!(T::of_items(&nested), None);
    }
}
