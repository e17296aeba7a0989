//! Evaluation contexts: a flat, typed record laid out from the schema.
//!
//! Every schema field has a slot. Values are stored ready to compare, never
//! re-parsed during evaluation: numbers and booleans in place, enums as their
//! index, timestamps as microseconds, semantic versions packed into two
//! integers (plus the pre-release, when there is one), addresses as 128
//! bits in two integers, strings in an arena.
//! Setting a value of the wrong type marks the slot *invalid*: flags that
//! read it fail with `INVALID_CONTEXT`, others are unaffected. That holds
//! for the typed setters too: a [`FieldHandle`] knows its field's type, so
//! `set_int` on a string field stores no integer where compiled code would
//! read a string's offset and length.

use std::collections::HashMap;
use std::sync::Arc;

use vexil_ir::{FieldType, Schema};

use crate::unmatched::{ContextStats, ContextWarning};

/// Slot states.
pub(crate) const MISSING: u32 = 0;
pub(crate) const PRESENT: u32 = 1;
pub(crate) const INVALID: u32 = 2;

/// NUL bytes kept after the last string of a context's text, so that
/// compiled code may load a whole 8-byte word at the start of any string
/// (and mask it by the length) without reading past the allocation.
pub(crate) const TEXT_PADDING: usize = 8;
const PADDING: &str = "\0\0\0\0\0\0\0\0";

/// One field's value. `#[repr(C)]` because compiled code reads it directly.
///
/// | type | `a` | `b` | `aux` |
/// |---|---|---|---|
/// | bool | 0 or 1 | | |
/// | int | the `i64` | | |
/// | float | the `f64`'s bits | | |
/// | string | offset in the arena | length | the first 4 bytes, little-endian, zero-padded ([`str_prefix`]): a string of at most 4 bytes is whole there |
/// | enum | value index | | |
/// | timestamp | microseconds (`i64`) | | |
/// | semver | `major << 32 \| minor` | `patch << 1 \| is_release` | pre-release index or `u32::MAX` |
/// | ip | the address's high 64 bits (IPv4 as IPv4-mapped IPv6, `vexil_ir::ip`) | its low 64 bits | |
/// | list | first item in `items` | item count | |
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) tag: u32,
    pub(crate) aux: u32,
    pub(crate) a: u64,
    pub(crate) b: u64,
}

/// A string's first [`STR_PREFIX_BYTES`] bytes as a little-endian word,
/// zero-padded: what a string slot keeps in `aux`.
#[inline]
pub(crate) fn str_prefix(bytes: &[u8]) -> u32 {
    // By cases rather than a copy loop, which becomes a call to `memcpy`.
    let word = match *bytes {
        [] => [0; 4],
        [a] => [a, 0, 0, 0],
        [a, b] => [a, b, 0, 0],
        [a, b, c] => [a, b, c, 0],
        [a, b, c, d, ..] => [a, b, c, d],
    };
    u32::from_le_bytes(word)
}

/// How many of a string's first bytes its slot keeps in `aux`.
pub(crate) const STR_PREFIX_BYTES: usize = 4;
const _: () = assert!(STR_PREFIX_BYTES == std::mem::size_of::<u32>());

/// Where each field lives, derived once from the schema.
#[derive(Debug)]
pub struct Layout {
    id: u64,
    fields: Vec<FieldInfo>,
    by_name: HashMap<String, HashMap<String, u32>>,
    contexts: Vec<(String, Option<u32>)>,
    /// Where unknown contexts and fields are counted: the engine's, shared
    /// by its snapshots.
    stats: Arc<ContextStats>,
}

/// A schema field as a layout knows it: what an error's detail names.
#[derive(Clone, Debug)]
pub struct FieldInfo {
    /// The context it belongs to (`user` of `user.id`).
    pub context: String,
    /// Its name in that context (`id` of `user.id`).
    pub name: String,
    /// Its declared type.
    pub ty: FieldType,
    /// Declared with `?`: it may be missing without an error.
    pub optional: bool,
}

/// A field resolved once, then used to set values cheaply per request.
/// It knows its layout and its field's type: a setter given a handle of
/// another layout does nothing, and a setter of another type marks the
/// field invalid (see [`Context`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldHandle {
    slot: u32,
    layout: u64,
    kind: Kind,
}

/// What a slot holds, by the field's declared type: what each typed
/// setter checks its handle against, because compiled code reads a slot
/// by the type the schema declares (a string slot's `a` and `b` as a range
/// of the text) and must never find another type's bits there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Float,
    String,
    Semver,
    Timestamp,
    Ip,
    /// An enum of this many values: a larger index is invalid.
    Enum(u32),
    /// A list of strings (what [`Context::set_str_list`] sets).
    StrList,
    /// A list of anything else (set from JSON or parsed text).
    OtherList,
}

impl Kind {
    fn of(ty: &FieldType) -> Kind {
        match ty {
            FieldType::Bool => Kind::Bool,
            FieldType::Int => Kind::Int,
            FieldType::Float => Kind::Float,
            FieldType::String => Kind::String,
            FieldType::Semver => Kind::Semver,
            FieldType::Timestamp => Kind::Timestamp,
            FieldType::Ip => Kind::Ip,
            FieldType::Enum(values) => Kind::Enum(u32::try_from(values.len()).unwrap_or(u32::MAX)),
            FieldType::List(elem) => Kind::list_of(elem),
        }
    }

    fn list_of(elem: &FieldType) -> Kind {
        match elem {
            FieldType::String => Kind::StrList,
            _ => Kind::OtherList,
        }
    }
}

impl Layout {
    /// The layout of `schema`'s fields (a snapshot makes it; see
    /// [`Snapshot::layout`](crate::Snapshot::layout)).
    pub(crate) fn new(schema: &Schema) -> Layout {
        let mut fields = vec![
            FieldInfo {
                context: String::new(),
                name: String::new(),
                ty: FieldType::Bool,
                optional: true,
            };
            schema.slot_count as usize
        ];
        let mut by_name: HashMap<String, HashMap<String, u32>> = HashMap::new();
        let mut contexts = Vec::new();
        for c in &schema.contexts {
            contexts.push((c.name.clone(), c.key));
            for f in &c.fields {
                if let Some(info) = fields.get_mut(f.slot as usize) {
                    *info = FieldInfo {
                        context: c.name.clone(),
                        name: f.name.clone(),
                        ty: f.ty.clone(),
                        optional: f.optional,
                    };
                }
                by_name
                    .entry(c.name.clone())
                    .or_default()
                    .insert(f.name.clone(), f.slot);
            }
        }
        Layout {
            id: schema.layout_id(),
            fields,
            by_name,
            contexts,
            stats: Arc::default(),
        }
    }

    /// Count unknown contexts and fields in `stats` from now on.
    pub(crate) fn count_in(&mut self, stats: Arc<ContextStats>) {
        self.stats = stats;
    }

    /// A hash of every field (context, name, type, optionality, slot):
    /// equal for equal schemas, and what [`Context::layout_id`] is
    /// checked against before an evaluation.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Resolve `context.field` once; `None` if the schema has no such field.
    pub fn field(&self, context: &str, field: &str) -> Option<FieldHandle> {
        let slot = *self.by_name.get(context)?.get(field)?;
        self.handle(slot)
    }

    /// The targeting key of a context, if it declares one.
    pub fn key(&self, context: &str) -> Option<FieldHandle> {
        let (_, key) = self.contexts.iter().find(|(n, _)| n == context)?;
        self.handle((*key)?)
    }

    /// The handle of the field at `slot`, typed by its declaration.
    fn handle(&self, slot: u32) -> Option<FieldHandle> {
        let info = self.fields.get(slot as usize)?;
        Some(FieldHandle {
            slot,
            layout: self.id,
            kind: Kind::of(&info.ty),
        })
    }

    /// The field at `slot`, as an [`Outcome`](crate::Outcome)'s `detail`
    /// names it for `INVALID_CONTEXT` and `TARGETING_KEY_MISSING`.
    pub fn info(&self, slot: u32) -> Option<&FieldInfo> {
        self.fields.get(slot as usize)
    }

    /// How many fields the schema has: slots are `0..slot_count()`.
    pub fn slot_count(&self) -> usize {
        self.fields.len()
    }

    /// An empty context for this layout.
    pub fn context(&self) -> Context {
        let mut ctx = Context {
            present: 0,
            invalid: 0,
            layout: self.id,
            slots: vec![Slot::default(); self.fields.len()],
            text_addr: 0,
            items_addr: 0,
            // Room for a typical request's strings, so that building one
            // usually allocates once.
            text: String::with_capacity(128),
            rare: None,
        };
        ctx.sync_addrs();
        ctx
    }

    /// A context from JSON: `{"user": {"id": "u1", ...}, "env": {...}}`.
    /// Unknown contexts and fields are ignored (and counted, see
    /// [`Engine::context_counts`](crate::Engine::context_counts)); `null`
    /// means missing; a value of the wrong type marks its field invalid, and
    /// so does a context that is not an object for every field it declares.
    pub fn context_from_json(&self, json: &serde_json::Value) -> Context {
        self.context_from_json_with_warnings(json).0
    }

    /// [`context_from_json`](Layout::context_from_json), and what the JSON
    /// held that the schema does not declare, in the order given.
    pub fn context_from_json_with_warnings(
        &self,
        json: &serde_json::Value,
    ) -> (Context, Vec<ContextWarning>) {
        let mut ctx = self.context();
        let warnings = ctx.fill_from_json(self, json);
        for w in &warnings {
            self.stats.count(w);
        }
        (ctx, warnings)
    }

    /// A context from JSON text (a leading byte-order mark is skipped);
    /// `Err` if it is not a JSON object, or if a declared context in it is
    /// neither an object nor `null`.
    pub fn context_from_json_str(&self, text: &str) -> Result<Context, String> {
        self.context_from_json_str_with_warnings(text)
            .map(|(ctx, _)| ctx)
    }

    /// [`context_from_json_str`](Layout::context_from_json_str), and what
    /// the JSON held that the schema does not declare.
    pub fn context_from_json_str_with_warnings(
        &self,
        text: &str,
    ) -> Result<(Context, Vec<ContextWarning>), String> {
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let Some(contexts) = value.as_object() else {
            return Err(format!(
                "the context must be a JSON object of contexts, like `{{\"user\": {{\"id\": \"u1\"}}}}`, not {}",
                json_kind(&value)
            ));
        };
        for (name, fields) in contexts {
            if self.by_name.contains_key(name) && !(fields.is_object() || fields.is_null()) {
                return Err(format!(
                    "the context `{name}` must be a JSON object of its fields, like `{{\"{name}\": {{...}}}}`, not {}",
                    json_kind(fields)
                ));
            }
        }
        Ok(self.context_from_json_with_warnings(&value))
    }
}

/// A context: one value (or none) per schema field.
///
/// The header, `present` and `invalid`, sums up the first 64 slots for
/// compiled code, which can then test many fields at once: bit `i` of
/// `present` is set when slot `i` holds a value (is neither missing nor
/// invalid), of `invalid` when slot `i` is invalid. It lives in the
/// context itself, beside the layout id that every evaluation checks
/// first, so that testing it costs no memory access of its own.
///
/// What an evaluation by compiled code reads of the `Context` itself (the
/// layout id, the header, the slots' pointer and length, the addresses of
/// the text and the items) is in its first 64 bytes, one cache line:
/// `#[repr(C, align(64))]` with those fields first. `text_addr` and
/// `items_addr` are copies of the addresses of the text and of the list
/// items, kept by `Context::sync_addrs` after every change that can move
/// them.
#[derive(Debug)]
#[repr(C, align(64))]
pub struct Context {
    layout: u64,
    pub(crate) present: u64,
    pub(crate) invalid: u64,
    /// One slot per field, in slot order.
    slots: Vec<Slot>,
    text_addr: usize,
    items_addr: usize,
    text: String,
    /// List items and pre-releases, which most contexts lack: allocated on
    /// first use, so that they cost an empty context 8 bytes.
    rare: Option<Box<Rare>>,
}

// What compiled code's caller reads ends before `text`, in the first line.
const _: () = assert!(std::mem::offset_of!(Context, text) <= 64);
const _: () = assert!(std::mem::size_of::<Context>() == 128);

#[derive(Clone, Debug, Default)]
struct Rare {
    items: Vec<Slot>,
    pre: Vec<semver::Prerelease>,
}

/// A semantic version packed for comparison; see [`Slot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PackedSemver {
    pub(crate) hi: u64,
    pub(crate) lo: u64,
    pub(crate) pre: Option<semver::Prerelease>,
}

impl PackedSemver {
    /// The packed form of `v`; `None` beyond the range the packing holds,
    /// which `vexil_ir::value::semver_in_range` defines: validation
    /// refuses a version constant beyond it, so every constant of a valid
    /// bundle packs, and a context value beyond it is invalid.
    pub(crate) fn new(v: &semver::Version) -> Option<PackedSemver> {
        if !vexil_ir::value::semver_in_range(v) {
            return None;
        }
        // In range: major and minor fit in 32 bits, the patch in 63.
        let (major, minor) = (u64::from(v.major as u32), u64::from(v.minor as u32));
        let release = v.pre.is_empty();
        Some(PackedSemver {
            hi: (major << 32) | minor,
            lo: (v.patch << 1) | u64::from(release),
            pre: (!release).then(|| v.pre.clone()),
        })
    }
}

impl Clone for Context {
    fn clone(&self) -> Context {
        let mut ctx = Context {
            layout: self.layout,
            present: self.present,
            invalid: self.invalid,
            slots: self.slots.clone(),
            text_addr: 0,
            items_addr: 0,
            text: self.text.clone(),
            rare: self.rare.clone(),
        };
        // The copies live elsewhere: point at them, not at `self`'s.
        ctx.sync_addrs();
        ctx
    }
}

impl Context {
    /// The id of the [`Layout`] that made this context.
    pub fn layout_id(&self) -> u64 {
        self.layout
    }

    /// Forget every value, keeping the allocations for the next request.
    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = Slot::default());
        self.present = 0;
        self.invalid = 0;
        self.text.clear();
        if let Some(rare) = &mut self.rare {
            rare.items.clear();
            rare.pre.clear();
        }
        self.sync_addrs();
    }

    /// The slot at `slot`; a missing one for an index out of range.
    #[inline]
    pub(crate) fn slot(&self, slot: u32) -> Slot {
        self.slots.get(slot as usize).copied().unwrap_or_default()
    }

    /// Every field's slot, in slot order.
    #[cfg(feature = "jit")]
    pub(crate) fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// A string slot's text ("" for a range outside the text).
    #[inline]
    pub(crate) fn str_of(&self, s: Slot) -> &str {
        self.text
            .get(s.a as usize..(s.a + s.b) as usize)
            .unwrap_or("")
    }

    /// A list slot's items.
    pub(crate) fn items(&self, list: Slot) -> &[Slot] {
        self.items_all()
            .get(list.a as usize..(list.a + list.b) as usize)
            .unwrap_or(&[])
    }

    /// A semver slot's pre-release, when it has one.
    pub(crate) fn prerelease(&self, s: Slot) -> Option<&semver::Prerelease> {
        self.rare.as_ref()?.pre.get(s.aux as usize)
    }

    /// Base pointers of the slots, the text and the list items, for
    /// compiled code. Every present string slot's `a..a + b` lies inside
    /// the text with [`TEXT_PADDING`] bytes after it, and every present
    /// list slot's `a..a + b` inside the items.
    #[cfg(feature = "jit")]
    #[inline]
    pub(crate) fn raw_parts(&self) -> (*const Slot, *const u8, *const Slot) {
        debug_assert_eq!(self.text_addr, self.text.as_ptr() as usize);
        debug_assert_eq!(self.items_addr, self.items_all().as_ptr() as usize);
        (
            self.slots.as_ptr(),
            self.text_addr as *const u8,
            self.items_addr as *const Slot,
        )
    }

    /// Copy the text's and the items' addresses into the first cache line
    /// (see [`Context`]); called after every change that can move them.
    #[inline]
    fn sync_addrs(&mut self) {
        self.text_addr = self.text.as_ptr() as usize;
        self.items_addr = self.items_all().as_ptr() as usize;
    }

    /// Every list item of the context (none without a `Rare` part).
    fn items_all(&self) -> &[Slot] {
        match &self.rare {
            Some(rare) => &rare.items,
            None => &[],
        }
    }

    fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    fn put(&mut self, h: FieldHandle, s: Slot) {
        if h.layout != self.layout {
            return;
        }
        let Some(slot) = self.slots.get_mut(h.slot as usize) else {
            return;
        };
        *slot = s;
        self.mark(h.slot, s.tag);
    }

    /// Store `s` if `h`'s field holds `kind`, else mark the field invalid.
    fn put_typed(&mut self, h: FieldHandle, kind: Kind, s: Slot) {
        if h.kind == kind {
            self.put(h, s);
        } else {
            self.set_invalid(h);
        }
    }

    /// Keep the header's bits for `slot` in step with its tag.
    fn mark(&mut self, slot: u32, tag: u32) {
        if slot >= 64 {
            return;
        }
        let bit = 1u64 << slot;
        self.present &= !bit;
        self.invalid &= !bit;
        match tag {
            MISSING => {}
            INVALID => self.invalid |= bit,
            // As the interpreter reads it: anything else holds a value.
            _ => self.present |= bit,
        }
    }

    #[inline]
    fn string_slot(&mut self, v: &str) -> Slot {
        // The text is empty or ends with the padding: write over it and put
        // it back after this string.
        let offset = self.text.len().saturating_sub(TEXT_PADDING);
        self.text.truncate(offset);
        self.text.push_str(v);
        self.text.push_str(PADDING);
        self.sync_addrs();
        let offset = offset as u64;
        Slot {
            tag: PRESENT,
            aux: str_prefix(v.as_bytes()),
            a: offset,
            b: v.len() as u64,
        }
    }

    /// Mark a field as supplied with a value of the wrong type.
    pub fn set_invalid(&mut self, h: FieldHandle) {
        self.put(
            h,
            Slot {
                tag: INVALID,
                ..Slot::default()
            },
        );
    }

    /// Make a field missing.
    pub fn unset(&mut self, h: FieldHandle) {
        self.put(h, Slot::default());
    }

    /// Set a bool field. Here and in the other setters, a handle of
    /// another layout is ignored, and a value of the wrong type for the
    /// field (`set_int` on a string field, an enum index past its values)
    /// marks it invalid: flags that read it then answer their default with
    /// reason `ERROR`, code `INVALID_CONTEXT` and the field named in the
    /// detail, on every backend, and flags that do not read it are
    /// unaffected. Never a panic, and never another type's bits in a slot.
    pub fn set_bool(&mut self, h: FieldHandle, v: bool) {
        self.put_typed(
            h,
            Kind::Bool,
            Slot {
                tag: PRESENT,
                aux: 0,
                a: u64::from(v),
                b: 0,
            },
        );
    }

    /// Set an int field.
    pub fn set_int(&mut self, h: FieldHandle, v: i64) {
        self.put_typed(
            h,
            Kind::Int,
            Slot {
                tag: PRESENT,
                aux: 0,
                a: v as u64,
                b: 0,
            },
        );
    }

    /// Set a float field; a value that is not finite makes it invalid.
    pub fn set_float(&mut self, h: FieldHandle, v: f64) {
        if !v.is_finite() {
            return self.set_invalid(h);
        }
        self.put_typed(
            h,
            Kind::Float,
            Slot {
                tag: PRESENT,
                aux: 0,
                a: v.to_bits(),
                b: 0,
            },
        );
    }

    /// Set a string field (copied into the context's text).
    pub fn set_str(&mut self, h: FieldHandle, v: &str) {
        if h.layout != self.layout {
            return;
        }
        if h.kind != Kind::String {
            return self.set_invalid(h);
        }
        let s = self.string_slot(v);
        self.put(h, s);
    }

    /// An enum value by index (see [`Layout::info`] for the names); an
    /// index past the enum's values makes the field invalid.
    pub fn set_enum_index(&mut self, h: FieldHandle, index: u32) {
        if !matches!(h.kind, Kind::Enum(n) if index < n) {
            return self.set_invalid(h);
        }
        self.put(
            h,
            Slot {
                tag: PRESENT,
                aux: 0,
                a: u64::from(index),
                b: 0,
            },
        );
    }

    /// A timestamp in microseconds since the epoch.
    pub fn set_timestamp(&mut self, h: FieldHandle, micros: i64) {
        self.put_typed(
            h,
            Kind::Timestamp,
            Slot {
                tag: PRESENT,
                aux: 0,
                a: micros as u64,
                b: 0,
            },
        );
    }

    /// Set an address field. An IPv4 address and its IPv4-mapped IPv6
    /// form (`10.1.2.3`, `::ffff:10.1.2.3`) are one address.
    pub fn set_ip(&mut self, h: FieldHandle, ip: std::net::IpAddr) {
        let (a, b) = vexil_ir::ip::Ip::from(ip).words();
        self.put_typed(
            h,
            Kind::Ip,
            Slot {
                tag: PRESENT,
                aux: 0,
                a,
                b,
            },
        );
    }

    /// Set a semver field; a major or minor beyond `u32`, or a patch
    /// of 2^63 or more, makes it invalid.
    pub fn set_semver(&mut self, h: FieldHandle, v: &semver::Version) {
        if h.kind != Kind::Semver {
            return self.set_invalid(h);
        }
        match PackedSemver::new(v) {
            Some(p) => {
                let aux = match p.pre {
                    Some(pre) => {
                        let rare = self.rare_mut();
                        rare.pre.push(pre);
                        (rare.pre.len() - 1) as u32
                    }
                    None => u32::MAX,
                };
                self.put(
                    h,
                    Slot {
                        tag: PRESENT,
                        aux,
                        a: p.hi,
                        b: p.lo,
                    },
                );
            }
            None => self.set_invalid(h),
        }
    }

    /// A list of strings; on a field of another type (a `list<int>`
    /// too), the field is made invalid.
    pub fn set_str_list<'a>(&mut self, h: FieldHandle, values: impl IntoIterator<Item = &'a str>) {
        if h.layout != self.layout {
            return;
        }
        if h.kind != Kind::StrList {
            return self.set_invalid(h);
        }
        let start = self.rare_mut().items.len() as u64;
        for v in values {
            let s = self.string_slot(v);
            self.rare_mut().items.push(s);
        }
        self.sync_addrs();
        let len = self.items_all().len() as u64 - start;
        self.put(
            h,
            Slot {
                tag: PRESENT,
                aux: 0,
                a: start,
                b: len,
            },
        );
    }

    /// A list, each item given as text and parsed by the element type (as
    /// [`Context::set_parsed`] does); any bad item makes the list invalid.
    pub fn set_list_parsed<'a>(
        &mut self,
        layout: &Layout,
        h: FieldHandle,
        values: impl IntoIterator<Item = &'a str>,
    ) {
        if layout.id != self.layout {
            return;
        }
        let Some(FieldType::List(elem)) = layout.info(h.slot).map(|i| &i.ty) else {
            return self.set_invalid(h);
        };
        let items: Vec<serde_json::Value> = values
            .into_iter()
            .map(|v| match elem.as_ref() {
                FieldType::Int => v.parse::<i64>().map_or(serde_json::Value::Null, Into::into),
                FieldType::Float => v.parse::<f64>().map_or(serde_json::Value::Null, Into::into),
                FieldType::Bool => match v {
                    "true" => true.into(),
                    "false" => false.into(),
                    _ => serde_json::Value::Null,
                },
                _ => serde_json::Value::String(v.to_string()),
            })
            .collect();
        let elem = elem.as_ref().clone();
        self.set_json_list(h, &elem, &items);
    }

    /// Set a field from text according to its declared type: what services
    /// usually have at hand (`"2.3.0"`, `"2025-06-01T00:00:00Z"`, `"pro"`).
    pub fn set_parsed(&mut self, layout: &Layout, h: FieldHandle, text: &str) {
        if layout.id != self.layout {
            return;
        }
        let Some(info) = layout.info(h.slot) else {
            return;
        };
        match &info.ty {
            FieldType::String => self.set_str(h, text),
            FieldType::Bool => match text {
                "true" => self.set_bool(h, true),
                "false" => self.set_bool(h, false),
                _ => self.set_invalid(h),
            },
            FieldType::Int => match text.parse() {
                Ok(v) => self.set_int(h, v),
                Err(_) => self.set_invalid(h),
            },
            FieldType::Float => match text.parse() {
                Ok(v) => self.set_float(h, v),
                Err(_) => self.set_invalid(h),
            },
            FieldType::Semver => match semver::Version::parse(text) {
                Ok(v) => self.set_semver(h, &v),
                Err(_) => self.set_invalid(h),
            },
            FieldType::Timestamp => match vexil_ir::value::parse_timestamp(text) {
                Ok(t) => self.set_timestamp(h, t),
                Err(_) => self.set_invalid(h),
            },
            FieldType::Enum(values) => match values.iter().position(|v| v == text) {
                Some(i) => self.set_enum_index(h, i as u32),
                None => self.set_invalid(h),
            },
            FieldType::Ip => match text.parse() {
                Ok(ip) => self.set_ip(h, ip),
                Err(_) => self.set_invalid(h),
            },
            FieldType::List(_) => self.set_invalid(h),
        }
    }

    /// Fill from JSON; returns the names the schema does not declare.
    fn fill_from_json(&mut self, layout: &Layout, json: &serde_json::Value) -> Vec<ContextWarning> {
        let mut warnings = Vec::new();
        let Some(contexts) = json.as_object() else {
            return warnings;
        };
        for (context, fields) in contexts {
            let Some(names) = layout.by_name.get(context) else {
                warnings.push(ContextWarning::UnknownContext {
                    name: context.clone(),
                    nearest: vexil_words::did_you_mean(
                        context,
                        layout.contexts.iter().map(|(c, _)| c.as_str()),
                    ),
                });
                continue;
            };
            let Some(fields) = fields.as_object() else {
                // A context given as something other than an object: every
                // field it declares is invalid.
                if !fields.is_null() {
                    for &slot in names.values() {
                        if let Some(h) = layout.handle(slot) {
                            self.set_invalid(h);
                        }
                    }
                }
                continue;
            };
            for (name, value) in fields {
                let Some(&slot) = names.get(name) else {
                    warnings.push(ContextWarning::UnknownField {
                        context: context.clone(),
                        name: name.clone(),
                        nearest: nearest_field(names, name),
                    });
                    continue;
                };
                let (Some(h), Some(info)) = (layout.handle(slot), layout.info(slot)) else {
                    continue;
                };
                self.set_json(h, &info.ty, value);
            }
        }
        warnings
    }

    fn set_json(&mut self, h: FieldHandle, ty: &FieldType, v: &serde_json::Value) {
        use serde_json::Value as J;
        match (ty, v) {
            (_, J::Null) => self.unset(h),
            (FieldType::Bool, J::Bool(b)) => self.set_bool(h, *b),
            (FieldType::Int, J::Number(n)) => match n.as_i64() {
                Some(i) => self.set_int(h, i),
                None => self.set_invalid(h),
            },
            (FieldType::Float, J::Number(n)) => match n.as_f64() {
                Some(f) => self.set_float(h, f),
                None => self.set_invalid(h),
            },
            (FieldType::String, J::String(s)) => self.set_str(h, s),
            (FieldType::Semver, J::String(s)) => match semver::Version::parse(s) {
                Ok(v) => self.set_semver(h, &v),
                Err(_) => self.set_invalid(h),
            },
            (FieldType::Timestamp, J::String(s)) => match vexil_ir::value::parse_timestamp(s) {
                Ok(t) => self.set_timestamp(h, t),
                Err(_) => self.set_invalid(h),
            },
            // Numbers are Unix milliseconds, as in LaunchDarkly's contexts.
            (FieldType::Timestamp, J::Number(n)) => {
                match n.as_i64().and_then(|ms| ms.checked_mul(1000)) {
                    Some(t) => self.set_timestamp(h, t),
                    None => self.set_invalid(h),
                }
            }
            (FieldType::Enum(values), J::String(s)) => match values.iter().position(|v| v == s) {
                Some(i) => self.set_enum_index(h, i as u32),
                None => self.set_invalid(h),
            },
            (FieldType::Ip, J::String(s)) => match s.parse() {
                Ok(ip) => self.set_ip(h, ip),
                Err(_) => self.set_invalid(h),
            },
            (FieldType::List(elem), J::Array(items)) => self.set_json_list(h, elem, items),
            _ => self.set_invalid(h),
        }
    }

    fn set_json_list(&mut self, h: FieldHandle, elem: &FieldType, items: &[serde_json::Value]) {
        // Build each item in a scratch slot, then move the item slots into
        // the item table; any bad item makes the whole list invalid.
        if h.kind != Kind::list_of(elem) {
            return self.set_invalid(h);
        }
        let mut built = Vec::with_capacity(items.len());
        for item in items {
            // The scratch slot's index, past the fields.
            let scratch = self.slots.len() as u32;
            self.slots.push(Slot::default());
            let tmp = FieldHandle {
                slot: scratch,
                layout: self.layout,
                kind: Kind::of(elem),
            };
            self.set_json(tmp, elem, item);
            let s = self.slots.pop().unwrap_or_default();
            self.mark(scratch, MISSING);
            if s.tag != PRESENT {
                return self.set_invalid(h);
            }
            built.push(s);
        }
        let table = &mut self.rare_mut().items;
        let start = table.len() as u64;
        table.extend(built);
        self.sync_addrs();
        self.put(
            h,
            Slot {
                tag: PRESENT,
                aux: 0,
                a: start,
                b: items.len() as u64,
            },
        );
    }
}

/// The declared field nearest to `name`, ties broken by name (a map's
/// order is not stable).
fn nearest_field(names: &HashMap<String, u32>, name: &str) -> Option<String> {
    let mut declared: Vec<&str> = names.keys().map(String::as_str).collect();
    declared.sort_unstable();
    vexil_words::did_you_mean(name, declared)
}

/// A JSON value's kind, for messages: `a string`, `an array`.
fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::str_prefix;

    #[test]
    fn a_prefix_is_the_first_four_bytes_zero_padded() {
        assert_eq!(str_prefix(b""), 0);
        assert_eq!(str_prefix(b"U"), u32::from(b'U'));
        assert_eq!(str_prefix(b"US"), u32::from_le_bytes(*b"US\0\0"));
        assert_eq!(str_prefix(b"qa+"), u32::from_le_bytes(*b"qa+\0"));
        assert_eq!(str_prefix(b"abcd"), u32::from_le_bytes(*b"abcd"));
        assert_eq!(str_prefix(b"abcdefgh"), u32::from_le_bytes(*b"abcd"));
        // Only the length tells a NUL-padded string from a shorter one.
        assert_eq!(str_prefix(b"a\0"), str_prefix(b"a"));
    }
}
