//! Device attributes (g0, IEEE 1815-2012, Annex A): the standard set 0 served for READ, from
//! [`DeviceAttributes`] in the configuration, the fragment limits and the point counts of the
//! database. Each attribute is one g0vN object (qualifier 00, index 0 = set 0) holding a data
//! type code, a length and the value; g0v254 asks for all of them and g0v255 for the list of
//! the variations served.

use super::database::Database;
use crate::app::{FragmentWriter, WriteError};
use crate::objects::PointType;

/// The descriptive attributes of the device, reported to a master that reads g0. Empty
/// strings are not reported (a READ of just that attribute gets IIN2.1 OBJECT_UNKNOWN).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
#[non_exhaustive]
pub struct DeviceAttributes {
    /// Manufacturer's name (g0v252).
    pub vendor_name: String,
    /// Manufacturer's product name and model (g0v250).
    pub product_name: String,
    /// Manufacturer's software version (g0v242).
    pub software_version: String,
    /// Manufacturer's hardware version (g0v243).
    pub hardware_version: String,
    /// Device serial number (g0v248).
    pub serial_number: String,
    /// User-assigned owner name (g0v244).
    pub owner: String,
    /// User-assigned location name (g0v245).
    pub location: String,
    /// User-assigned ID code or number (g0v246).
    pub id: String,
    /// User-assigned device name (g0v247).
    pub device_name: String,
}

crate::setters!(DeviceAttributes {
    vendor_name: String => with_vendor_name,
    product_name: String => with_product_name,
    software_version: String => with_software_version,
    hardware_version: String => with_hardware_version,
    serial_number: String => with_serial_number,
    owner: String => with_owner,
    location: String => with_location,
    id: String => with_id,
    device_name: String => with_device_name,
});

/// g0v254: every attribute.
pub(crate) const ALL: u8 = 254;
/// g0v255: the list of attribute variations.
pub(crate) const LIST: u8 = 255;

/// Data type codes of attribute values.
const VSTR: u8 = 1;
const UINT: u8 = 2;
const LIST_TYPE: u8 = 254;

/// The attributes served, in the order g0v254 reports them.
const SERVED: [u8; 21] = [
    220, 221, 223, 224, 228, 229, 232, 233, 235, 236, 238, 239, 240, 241, 242, 243, 244, 245, 246,
    247, 248,
];
/// Served after [`SERVED`]: product name and vendor name.
const SERVED_TAIL: [u8; 2] = [250, 252];

/// Everything the attributes are computed from.
#[derive(Copy, Clone, Debug)]
pub(crate) struct AttributeSource<'a> {
    /// The configured strings.
    pub attributes: &'a DeviceAttributes,
    /// Largest fragment sent.
    pub max_tx: usize,
    /// Largest fragment accepted.
    pub max_rx: usize,
}

/// One attribute value.
enum AttributeValue<'a> {
    Text(&'a str),
    Unsigned(u32),
}

/// The point count (`count`) or maximum index of a type.
fn points(db: &Database, ty: PointType, count: bool) -> u32 {
    if count {
        db.len(ty) as u32
    } else {
        db.indices(ty).last().map_or(0, u32::from)
    }
}

impl<'a> AttributeSource<'a> {
    fn value(&self, db: &Database, variation: u8) -> Option<AttributeValue<'a>> {
        use AttributeValue::*;
        let a = self.attributes;
        let text = |s: &'a String| (!s.is_empty()).then_some(Text(s.as_str()));
        let ty = match variation {
            220 | 221 => PointType::AnalogOutputStatus,
            223 | 224 => PointType::BinaryOutputStatus,
            228 | 229 => PointType::Counter,
            232 | 233 => PointType::AnalogInput,
            235 | 236 => PointType::DoubleBitInput,
            238 | 239 => PointType::BinaryInput,
            240 => return Some(Unsigned(self.max_tx.try_into().unwrap_or(u32::MAX))),
            241 => return Some(Unsigned(self.max_rx.try_into().unwrap_or(u32::MAX))),
            242 => return text(&a.software_version),
            243 => return text(&a.hardware_version),
            244 => return text(&a.owner),
            245 => return text(&a.location),
            246 => return text(&a.id),
            247 => return text(&a.device_name),
            248 => return text(&a.serial_number),
            250 => return text(&a.product_name),
            252 => return text(&a.vendor_name),
            _ => return None,
        };
        // Numbers of points; the others are maximum indices, reported only when points exist.
        let count = matches!(variation, 221 | 224 | 229 | 233 | 236 | 239);
        (count || db.len(ty) > 0).then(|| Unsigned(points(db, ty, count)))
    }

    /// True when a READ of `variation` (or of all of them) can be answered.
    pub fn serves(&self, db: &Database, variation: u8) -> bool {
        variation == ALL || variation == LIST || self.value(db, variation).is_some()
    }

    fn served(&self, db: &'a Database) -> impl Iterator<Item = u8> + 'a {
        let this = *self;
        SERVED
            .into_iter()
            .chain(SERVED_TAIL)
            .filter(move |&v| this.value(db, v).is_some())
    }

    /// Writes the attributes a READ of `variation` asks for, from position `*pos` of the
    /// list on. Returns true when all were written, otherwise `*pos` is where the next
    /// fragment continues.
    pub fn write(
        &self,
        db: &Database,
        variation: u8,
        pos: &mut usize,
        w: &mut FragmentWriter<'_>,
    ) -> bool {
        match variation {
            ALL => {
                for (k, v) in self.served(db).enumerate().skip(*pos) {
                    if self.write_one(db, v, w).is_err() {
                        *pos = k;
                        return false;
                    }
                }
                true
            }
            LIST => self.write_list(db, w).is_ok(),
            v => self.write_one(db, v, w).is_ok(),
        }
    }

    /// One attribute: header g0vN, qualifier 00, set 0; then type, length and value.
    fn write_one(
        &self,
        db: &Database,
        v: u8,
        w: &mut FragmentWriter<'_>,
    ) -> Result<(), WriteError> {
        let mut buf = [0u8; 7 + 255];
        buf[..5].copy_from_slice(&[0, v, 0x00, 0, 0]);
        let len = match self.value(db, v) {
            Some(AttributeValue::Text(s)) => {
                let b = s.as_bytes();
                let n = b.len().min(255);
                buf[5..7].copy_from_slice(&[VSTR, n as u8]);
                buf[7..7 + n].copy_from_slice(&b[..n]);
                7 + n
            }
            Some(AttributeValue::Unsigned(u)) => {
                // The smallest of the allowed widths 1, 2 and 4.
                let n = if u <= 0xFF {
                    1
                } else if u <= 0xFFFF {
                    2
                } else {
                    4
                };
                buf[5..7].copy_from_slice(&[UINT, n as u8]);
                buf[7..7 + n].copy_from_slice(&u.to_le_bytes()[..n]);
                7 + n
            }
            None => return Ok(()),
        };
        w.put(&buf[..len])
    }

    /// g0v255: (variation, properties) pairs of the attributes served; none is writable
    /// (properties 0).
    fn write_list(&self, db: &Database, w: &mut FragmentWriter<'_>) -> Result<(), WriteError> {
        let mut buf = [0u8; 7 + 2 * (SERVED.len() + SERVED_TAIL.len())];
        buf[..5].copy_from_slice(&[0, LIST, 0x00, 0, 0]);
        let mut n = 7;
        for v in self.served(db) {
            buf[n] = v;
            n += 2;
        }
        buf[5..7].copy_from_slice(&[LIST_TYPE, (n - 7) as u8]);
        w.put(&buf[..n])
    }
}
