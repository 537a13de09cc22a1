//! PyTorch checkpoints written by `torch.save` (a zip archive holding a
//! pickled state dict, `…/data.pkl`, and one member per storage,
//! `…/data/<key>`), as torchvision publishes its weights.
//!
//! The pickle is read by a small, strictly bounded stack machine that knows
//! only the opcodes a state dict uses and only four callables:
//! `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
//! `torch._utils._rebuild_parameter` and the `torch.*Storage` types. It
//! never imports or runs anything: any other opcode or global is an error
//! that names it. Every tensor's offset, sizes and strides are checked
//! against its storage before a value is read. The legacy (pre-1.6,
//! non-zip) format is recognised and refused with a hint.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

use super::f16::f16_to_f32;
use super::safetensors::{DType, Stored};
use crate::error::{Error, Result};

/// Largest pickle read (a state dict's pickle is a few hundred KB).
const MAX_PICKLE: u64 = 64 << 20;
/// Largest stack, memo and container sizes.
const MAX_ITEMS: usize = 1 << 20;
/// Largest string in the pickle.
const MAX_STRING: usize = 1 << 20;

/// Reads the state dict of a `torch.save` file: tensor name → values.
pub fn read_pth(path: &Path) -> Result<BTreeMap<String, Stored>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_pth(&bytes, path)
}

/// True when `bytes` start like a `torch.save` file (zip) or a legacy one.
pub fn looks_like_pth(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0x80, 0x02, 0x8a])
}

/// [`read_pth`] of bytes in memory; `path` names the file in errors.
pub fn parse_pth(bytes: &[u8], path: &Path) -> Result<BTreeMap<String, Stored>> {
    let err = |m: String| Error::format(path, m);
    if bytes.starts_with(&[0x80, 0x02, 0x8a]) {
        return Err(err(
            "a legacy (pre-PyTorch 1.6) torch.save file; re-save it with a current PyTorch \
             (torch.save(torch.load(f), g)) or convert it to safetensors"
                .into(),
        ));
    }
    let archive_len = bytes.len() as u64;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| err(format!("not a PyTorch checkpoint (zip archive): {e}")))?;
    let pkl_name = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .find(|n| n.ends_with("data.pkl") && n.matches('/').count() == 1)
        .ok_or_else(|| err("a zip archive without data.pkl: not a torch.save file".into()))?;
    let prefix = pkl_name.trim_end_matches("data.pkl").to_string();
    let pickle = read_member(&mut zip, &pkl_name, MAX_PICKLE, archive_len).map_err(err)?;
    let root = Unpickler::new(&pickle)
        .run()
        .map_err(|m| err(format!("data.pkl: {m}")))?;
    let entries = state_dict_entries(&root, 0).map_err(err)?;
    let mut storages: HashMap<String, Vec<u8>> = HashMap::new();
    let mut out = BTreeMap::new();
    for (name, t) in entries {
        if !storages.contains_key(&t.storage.key) {
            let member = format!("{prefix}data/{}", t.storage.key);
            let limit = (t.storage.numel as u64).saturating_mul(t.storage.dtype.size() as u64);
            let data = read_member(&mut zip, &member, limit, archive_len).map_err(err)?;
            storages.insert(t.storage.key.clone(), data);
        }
        let stored = t
            .gather(&storages[&t.storage.key])
            .map_err(|m| err(format!("tensor {name:?}: {m}")))?;
        out.insert(name, stored);
    }
    Ok(out)
}

/// The bytes of one archive member, refusing members larger than `limit` or
/// than their compressed size could hold ([`super::zip_member_bound`]): the
/// sizes come from the file, so neither is trusted before allocating.
fn read_member<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    limit: u64,
    archive_len: u64,
) -> std::result::Result<Vec<u8>, String> {
    let member = zip.by_name(name).map_err(|e| format!("member {name}: {e}"))?;
    let limit = limit.min(super::zip_member_bound(member.compressed_size(), archive_len));
    if member.size() > limit {
        return Err(format!(
            "member {name} has {} bytes, more than the {limit} expected",
            member.size()
        ));
    }
    let mut bytes = Vec::with_capacity(member.size().min(archive_len) as usize);
    member
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("member {name}: {e}"))?;
    Ok(bytes)
}

/// Element types of `torch.*Storage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Elem {
    F32,
    F64,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl Elem {
    fn of_storage(class: &str) -> Option<Elem> {
        Some(match class {
            "FloatStorage" => Elem::F32,
            "DoubleStorage" => Elem::F64,
            "HalfStorage" => Elem::F16,
            "BFloat16Storage" => Elem::BF16,
            "LongStorage" => Elem::I64,
            "IntStorage" => Elem::I32,
            "ShortStorage" => Elem::I16,
            "CharStorage" => Elem::I8,
            "ByteStorage" => Elem::U8,
            "BoolStorage" => Elem::Bool,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Elem::F64 | Elem::I64 => 8,
            Elem::F32 | Elem::I32 => 4,
            Elem::F16 | Elem::BF16 | Elem::I16 => 2,
            Elem::I8 | Elem::U8 | Elem::Bool => 1,
        }
    }

    /// Element `i` of little-endian storage bytes, widened to `f64`.
    fn read(self, b: &[u8], i: usize) -> f64 {
        let s = &b[i * self.size()..(i + 1) * self.size()];
        let arr = |n: usize| -> [u8; 8] {
            let mut a = [0; 8];
            a[..n].copy_from_slice(&s[..n]);
            a
        };
        match self {
            Elem::F32 => f32::from_le_bytes([s[0], s[1], s[2], s[3]]) as f64,
            Elem::F64 => f64::from_le_bytes(arr(8)),
            Elem::F16 => f16_to_f32(u16::from_le_bytes([s[0], s[1]])) as f64,
            Elem::BF16 => f32::from_bits(u32::from(u16::from_le_bytes([s[0], s[1]])) << 16) as f64,
            Elem::I64 => i64::from_le_bytes(arr(8)) as f64,
            Elem::I32 => i32::from_le_bytes([s[0], s[1], s[2], s[3]]) as f64,
            Elem::I16 => i16::from_le_bytes([s[0], s[1]]) as f64,
            Elem::I8 => s[0] as i8 as f64,
            Elem::U8 | Elem::Bool => s[0] as f64,
        }
    }

    /// How the values are stored again (integers as `I64`, floats as the
    /// narrowest of `F32`/`F64` that holds them).
    fn dtype(self) -> DType {
        match self {
            Elem::F64 => DType::F64,
            Elem::F32 | Elem::F16 | Elem::BF16 => DType::F32,
            _ => DType::I64,
        }
    }
}

/// A storage named by a persistent id: `('storage', torch.FloatStorage, key, location, numel)`.
#[derive(Clone, Debug)]
struct StorageRef {
    dtype: Elem,
    key: String,
    numel: usize,
}

/// A tensor view of a storage.
#[derive(Clone, Debug)]
struct TensorRef {
    storage: StorageRef,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

impl TensorRef {
    /// The tensor's values in row-major order, after checking that every
    /// element lies inside the storage.
    fn gather(&self, bytes: &[u8]) -> std::result::Result<Stored, String> {
        let elem = self.storage.dtype;
        let have = bytes.len() / elem.size();
        if have < self.storage.numel {
            return Err(format!(
                "storage has {have} elements, the pickle says {}",
                self.storage.numel
            ));
        }
        let numel = crate::tensor::checked_numel(&self.shape).ok_or("the shape overflows")?;
        if numel > 0 {
            let last = self
                .shape
                .iter()
                .zip(&self.stride)
                .try_fold(self.offset, |a, (&d, &s)| {
                    (d - 1).checked_mul(s).and_then(|v| v.checked_add(a))
                })
                .ok_or("the strides overflow")?;
            if last >= self.storage.numel {
                return Err(format!(
                    "offset {}, shape {:?} and strides {:?} reach element {last} of a storage of {}",
                    self.offset, self.shape, self.stride, self.storage.numel
                ));
            }
        }
        let mut values = Vec::with_capacity(numel);
        let mut index = vec![0usize; self.shape.len()];
        for _ in 0..numel {
            let at = self.offset + index.iter().zip(&self.stride).map(|(i, s)| i * s).sum::<usize>();
            values.push(elem.read(bytes, at));
            for axis in (0..index.len()).rev() {
                index[axis] += 1;
                if index[axis] < self.shape[axis] {
                    break;
                }
                index[axis] = 0;
            }
        }
        Ok(Stored {
            dtype: elem.dtype(),
            shape: self.shape.clone(),
            values,
        })
    }
}

/// The callables a state dict's pickle may name.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Global {
    OrderedDict,
    RebuildTensor,
    RebuildParameter,
    Storage(Elem),
}

type Dict = Rc<RefCell<Vec<(Value, Value)>>>;

/// A value on the unpickler's stack.
#[derive(Clone, Debug)]
enum Value {
    Mark,
    None,
    /// `True`/`False` (the tensors' `requires_grad`), not needed.
    Bool,
    Int(i64),
    Str(Rc<str>),
    Tuple(Rc<[Value]>),
    List(Rc<RefCell<Vec<Value>>>),
    Dict(Dict),
    Global(Global),
    Storage(StorageRef),
    Tensor(Rc<TensorRef>),
}

impl Value {
    fn what(&self) -> &'static str {
        match self {
            Value::Mark => "a mark",
            Value::None => "None",
            Value::Bool => "a bool",
            Value::Int(_) => "an int",
            Value::Str(_) => "a string",
            Value::Tuple(_) => "a tuple",
            Value::List(_) => "a list",
            Value::Dict(_) => "a dict",
            Value::Global(_) => "a class",
            Value::Storage(_) => "a storage",
            Value::Tensor(_) => "a tensor",
        }
    }
}

type Res<T> = std::result::Result<T, String>;

/// A pickle stack machine for state dicts only.
struct Unpickler<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    memo: HashMap<u32, Value>,
}

impl<'a> Unpickler<'a> {
    fn new(data: &'a [u8]) -> Self {
        Unpickler {
            data,
            pos: 0,
            stack: Vec::new(),
            memo: HashMap::new(),
        }
    }

    fn take(&mut self, n: usize) -> Res<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| format!("truncated at byte {}", self.pos))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Res<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Res<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn line(&mut self) -> Res<String> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .take(256)
            .position(|&b| b == b'\n')
            .ok_or("a GLOBAL name is too long")?;
        let s = String::from_utf8_lossy(self.take(n + 1)?.split_last().map_or(&[][..], |p| p.1)).into_owned();
        Ok(s)
    }

    fn string(&mut self, n: usize) -> Res<Value> {
        if n > MAX_STRING {
            return Err(format!("a string of {n} bytes"));
        }
        let s = std::str::from_utf8(self.take(n)?).map_err(|_| "a string that is not UTF-8")?;
        Ok(Value::Str(s.into()))
    }

    fn push(&mut self, v: Value) -> Res<()> {
        if self.stack.len() >= MAX_ITEMS {
            return Err("the pickle stack is too deep".into());
        }
        self.stack.push(v);
        Ok(())
    }

    fn pop(&mut self) -> Res<Value> {
        self.stack.pop().ok_or_else(|| "pop from an empty stack".into())
    }

    /// The values above the topmost mark, removing them and the mark.
    fn pop_mark(&mut self) -> Res<Vec<Value>> {
        let at = self
            .stack
            .iter()
            .rposition(|v| matches!(v, Value::Mark))
            .ok_or("no MARK on the stack")?;
        let items = self.stack.split_off(at + 1);
        self.stack.pop();
        Ok(items)
    }

    fn memo_put(&mut self, key: u32) -> Res<()> {
        if self.memo.len() >= MAX_ITEMS {
            return Err("too many memo entries".into());
        }
        let top = self.stack.last().ok_or("memo of an empty stack")?.clone();
        self.memo.insert(key, top);
        Ok(())
    }

    fn memo_get(&mut self, key: u32) -> Res<()> {
        let v = self
            .memo
            .get(&key)
            .ok_or_else(|| format!("memo key {key} is not set"))?
            .clone();
        self.push(v)
    }

    fn set_items(&mut self, items: Vec<Value>) -> Res<()> {
        if !items.len().is_multiple_of(2) {
            return Err("SETITEMS with an odd number of values".into());
        }
        let Some(Value::Dict(d)) = self.stack.last() else {
            return Err("SETITEMS on something that is not a dict".into());
        };
        let mut d = d.borrow_mut();
        if d.len() + items.len() / 2 > MAX_ITEMS {
            return Err("a dict with too many entries".into());
        }
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            d.push((k, v));
        }
        Ok(())
    }

    fn tuple(&mut self, n: usize) -> Res<()> {
        let at = self.stack.len().checked_sub(n).ok_or("TUPLE from an empty stack")?;
        let items: Rc<[Value]> = self.stack.split_off(at).into();
        self.push(Value::Tuple(items))
    }

    /// Runs the pickle to its STOP; returns the result.
    fn run(mut self) -> Res<Value> {
        loop {
            let at = self.pos;
            let op = self.u8()?;
            match op {
                b'.' => return self.pop(),
                0x80 | 0x95 => self.framing(op)?,
                b'(' | b'N' | 0x88 | 0x89 | b'K' | b'M' | b'J' | 0x8a | b'X' | 0x8c => self.scalar(op)?,
                b')' | b't' | 0x85..=0x87 | b'}' | b']' | b'a' | b'e' | b's' | b'u' => self.container(op)?,
                b'q' | b'r' | 0x94 | b'h' | b'j' => self.memo_op(op)?,
                b'c' | 0x93 | b'Q' | b'R' | b'b' => self.object(op)?,
                _ => return Err(format!("opcode 0x{op:02x} at byte {at} is not allowed in a state dict")),
            }
        }
    }

    /// PROTO and FRAME: checks the protocol, skips the frame length hint.
    fn framing(&mut self, op: u8) -> Res<()> {
        match op {
            0x80 => {
                let proto = self.u8()?;
                if proto > 5 {
                    return Err(format!("pickle protocol {proto}"));
                }
            }
            0x95 => {
                self.take(8)?; // FRAME: a length hint
            }
            _ => unreachable!("framing opcode 0x{op:02x}"),
        }
        Ok(())
    }

    /// MARK, NONE, booleans, integers and strings: pushes one value.
    fn scalar(&mut self, op: u8) -> Res<()> {
        match op {
            b'(' => self.push(Value::Mark),
            b'N' => self.push(Value::None),
            0x88 | 0x89 => self.push(Value::Bool),
            b'K' => {
                let v = self.u8()?;
                self.push(Value::Int(v.into()))
            }
            b'M' => {
                let b = self.take(2)?;
                self.push(Value::Int(u16::from_le_bytes([b[0], b[1]]).into()))
            }
            b'J' => {
                let v = self.u32()? as i32;
                self.push(Value::Int(v.into()))
            }
            0x8a => self.long1(),
            b'X' => {
                let n = self.u32()? as usize;
                let v = self.string(n)?;
                self.push(v)
            }
            0x8c => {
                let n = self.u8()? as usize;
                let v = self.string(n)?;
                self.push(v)
            }
            _ => unreachable!("scalar opcode 0x{op:02x}"),
        }
    }

    /// LONG1: a little-endian two's-complement integer of up to 8 bytes.
    fn long1(&mut self) -> Res<()> {
        let n = self.u8()? as usize;
        if n > 8 {
            return Err(format!("an integer of {n} bytes"));
        }
        let b = self.take(n)?;
        let mut a = if b.last().is_some_and(|&x| x & 0x80 != 0) {
            [0xff; 8]
        } else {
            [0; 8]
        };
        a[..n].copy_from_slice(b);
        self.push(Value::Int(i64::from_le_bytes(a)))
    }

    /// Tuples, dicts and lists: building them and adding items.
    fn container(&mut self, op: u8) -> Res<()> {
        match op {
            b')' => self.push(Value::Tuple(Rc::from(Vec::new()))),
            b't' => {
                let items = self.pop_mark()?;
                self.push(Value::Tuple(items.into()))
            }
            0x85..=0x87 => self.tuple((op - 0x84) as usize),
            b'}' => self.push(Value::Dict(Rc::default())),
            b']' => self.push(Value::List(Rc::default())),
            b'a' | b'e' => self.append(op == b'e'),
            b's' => {
                let v = self.pop()?;
                let k = self.pop()?;
                self.set_items(vec![k, v])
            }
            b'u' => {
                let items = self.pop_mark()?;
                self.set_items(items)
            }
            _ => unreachable!("container opcode 0x{op:02x}"),
        }
    }

    /// APPEND (one value) or APPENDS (the values above the mark, when `marked`) to the list below.
    fn append(&mut self, marked: bool) -> Res<()> {
        let items = if marked { self.pop_mark()? } else { vec![self.pop()?] };
        let Some(Value::List(l)) = self.stack.last() else {
            return Err("APPEND on something that is not a list".into());
        };
        if l.borrow().len() + items.len() > MAX_ITEMS {
            return Err("a list with too many items".into());
        }
        l.borrow_mut().extend(items);
        Ok(())
    }

    /// BINPUT, LONG_BINPUT, MEMOIZE, BINGET and LONG_BINGET.
    fn memo_op(&mut self, op: u8) -> Res<()> {
        match op {
            b'q' => {
                let k = self.u8()?;
                self.memo_put(k.into())
            }
            b'r' => {
                let k = self.u32()?;
                self.memo_put(k)
            }
            0x94 => {
                let k = self.memo.len() as u32;
                self.memo_put(k)
            }
            b'h' => {
                let k = self.u8()?;
                self.memo_get(k.into())
            }
            b'j' => {
                let k = self.u32()?;
                self.memo_get(k)
            }
            _ => unreachable!("memo opcode 0x{op:02x}"),
        }
    }

    /// Globals, persistent ids, REDUCE and BUILD: the allowed callables.
    fn object(&mut self, op: u8) -> Res<()> {
        match op {
            b'c' => {
                let module = self.line()?;
                let name = self.line()?;
                let g = global(&module, &name)?;
                self.push(Value::Global(g))
            }
            0x93 => {
                let (name, module) = (self.pop()?, self.pop()?);
                let (Value::Str(module), Value::Str(name)) = (module, name) else {
                    return Err("STACK_GLOBAL without two strings".into());
                };
                let g = global(&module, &name)?;
                self.push(Value::Global(g))
            }
            b'Q' => {
                let pid = self.pop()?;
                let s = storage(&pid)?;
                self.push(Value::Storage(s))
            }
            b'R' => {
                let args = self.pop()?;
                let callable = self.pop()?;
                let v = reduce(callable, args)?;
                self.push(v)
            }
            b'b' => self.build(),
            _ => unreachable!("object opcode 0x{op:02x}"),
        }
    }

    /// BUILD: ignores the state (a state dict's `_metadata`); refuses anything but a dict or tensor.
    fn build(&mut self) -> Res<()> {
        let _state = self.pop()?;
        match self.stack.last() {
            Some(Value::Dict(_) | Value::Tensor(_)) => Ok(()),
            other => Err(format!("BUILD on {}", other.map_or("nothing", Value::what))),
        }
    }
}

/// The only callables a state dict may name.
fn global(module: &str, name: &str) -> Res<Global> {
    Ok(match (module, name) {
        ("collections", "OrderedDict") => Global::OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2") => Global::RebuildTensor,
        ("torch._utils", "_rebuild_parameter") => Global::RebuildParameter,
        ("torch", class) => Global::Storage(
            Elem::of_storage(class).ok_or_else(|| format!("global torch.{class} is not allowed in a state dict"))?,
        ),
        _ => {
            return Err(format!(
                "global {module}.{name} is not allowed: not a state dict (save model.state_dict(), not the model)"
            ));
        }
    })
}

fn int(v: &Value, what: &str) -> Res<usize> {
    match v {
        Value::Int(i) if *i >= 0 => Ok(*i as usize),
        other => Err(format!("{what}: expected a non-negative int, found {}", other.what())),
    }
}

fn ints(v: &Value, what: &str) -> Res<Vec<usize>> {
    match v {
        Value::Tuple(t) if t.len() <= 16 => t.iter().map(|x| int(x, what)).collect(),
        other => Err(format!(
            "{what}: expected a tuple of up to 16 ints, found {}",
            other.what()
        )),
    }
}

/// A persistent id `('storage', torch.FloatStorage, key, location, numel)`.
fn storage(pid: &Value) -> Res<StorageRef> {
    let Value::Tuple(t) = pid else {
        return Err(format!("a persistent id that is {}", pid.what()));
    };
    match &t[..] {
        [
            Value::Str(tag),
            Value::Global(Global::Storage(dtype)),
            Value::Str(key),
            _,
            numel,
        ] if &**tag == "storage" => {
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("storage key {key:?}"));
            }
            Ok(StorageRef {
                dtype: *dtype,
                key: key.to_string(),
                numel: int(numel, "storage size")?,
            })
        }
        _ => Err("a persistent id that is not a storage".into()),
    }
}

/// Applies one of the allowed callables.
fn reduce(callable: Value, args: Value) -> Res<Value> {
    let Value::Tuple(args) = args else {
        return Err(format!("REDUCE with {} as arguments", args.what()));
    };
    match callable {
        Value::Global(Global::OrderedDict) if args.is_empty() => Ok(Value::Dict(Rc::default())),
        Value::Global(Global::RebuildTensor) if (6..=7).contains(&args.len()) => {
            let Value::Storage(storage) = &args[0] else {
                return Err(format!("_rebuild_tensor_v2 of {}", args[0].what()));
            };
            let shape = ints(&args[2], "tensor size")?;
            let stride = ints(&args[3], "tensor stride")?;
            if shape.len() != stride.len() {
                return Err(format!("size {shape:?} and stride {stride:?} differ in length"));
            }
            Ok(Value::Tensor(Rc::new(TensorRef {
                storage: storage.clone(),
                offset: int(&args[1], "storage offset")?,
                shape,
                stride,
            })))
        }
        Value::Global(Global::RebuildParameter) if args.len() == 3 => match &args[0] {
            Value::Tensor(t) => Ok(Value::Tensor(t.clone())),
            other => Err(format!("_rebuild_parameter of {}", other.what())),
        },
        other => Err(format!(
            "calling {} with {} arguments is not allowed",
            other.what(),
            args.len()
        )),
    }
}

/// The (name, tensor) entries of a state dict: the pickle's root dict, or
/// the dict under `state_dict` or `model` of a training checkpoint.
fn state_dict_entries(root: &Value, depth: usize) -> Res<Vec<(String, TensorRef)>> {
    let Value::Dict(d) = root else {
        return Err(format!("not a state dict: the file holds {}", root.what()));
    };
    let d = d.borrow();
    let all_tensors = d.iter().all(|(_, v)| matches!(v, Value::Tensor(_)));
    if !all_tensors && depth < 2 {
        for (k, v) in d.iter() {
            if let (Value::Str(k), Value::Dict(_)) = (k, v)
                && matches!(&**k, "state_dict" | "model" | "model_state_dict")
            {
                return state_dict_entries(v, depth + 1);
            }
        }
    }
    d.iter()
        .map(|(k, v)| match (k, v) {
            (Value::Str(k), Value::Tensor(t)) => Ok((k.to_string(), (**t).clone())),
            (Value::Str(k), other) => Err(format!("not a state dict: entry {k:?} is {}", other.what())),
            (other, _) => Err(format!("not a state dict: a key that is {}", other.what())),
        })
        .collect()
}
