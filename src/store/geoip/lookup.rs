//! Lookups: one index probe per address (`ZREVRANGEBYSCORE` for IPv4, `ZREVRANGEBYLEX` for
//! IPv6), all in one pipeline, then one `HMGET` for the distinct city ids found.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use redis::{ConnectionLike, Value as Reply};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::store::{Store, redis_ctx};

/// An IP address to look up: text (`"8.8.8.8"`, `"2001:db8::1"`, `"::ffff:8.8.8.8"`) or a
/// [`std::net`] address.
pub trait IpQuery {
    /// The address.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for text that is not an
    /// IPv4 or IPv6 address, naming the text.
    fn to_ip_addr(&self) -> Result<IpAddr>;
}

impl IpQuery for str {
    fn to_ip_addr(&self) -> Result<IpAddr> {
        self.parse().map_err(|_| {
            Error::invalid_input(format!(
                "invalid IP address {self:?}: expected IPv4 text like 8.8.8.8 or IPv6 text \
                 like 2001:db8::1"
            ))
        })
    }
}

impl IpQuery for String {
    fn to_ip_addr(&self) -> Result<IpAddr> {
        self.as_str().to_ip_addr()
    }
}

impl IpQuery for IpAddr {
    fn to_ip_addr(&self) -> Result<IpAddr> {
        Ok(*self)
    }
}

impl IpQuery for Ipv4Addr {
    fn to_ip_addr(&self) -> Result<IpAddr> {
        Ok(IpAddr::V4(*self))
    }
}

impl IpQuery for Ipv6Addr {
    fn to_ip_addr(&self) -> Result<IpAddr> {
        Ok(IpAddr::V6(*self))
    }
}

impl<T: IpQuery + ?Sized> IpQuery for &T {
    fn to_ip_addr(&self) -> Result<IpAddr> {
        (**self).to_ip_addr()
    }
}

/// Where an address is: the entry of `cityid2city:` its range points to.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct City {
    /// The city id (a geoname id, a legacy location id, or `<id>-<n>` for a GeoLite2 location
    /// with block-specific postal code and coordinates).
    pub id: String,
    /// The city name, if the location is a city.
    pub city: Option<String>,
    /// The region (GeoLite2: first subdivision name; legacy: region code).
    pub region: Option<String>,
    /// The ISO 3166-1 country code.
    pub country: Option<String>,
    /// Extra fields: `postal_code`, `latitude`, `longitude`, `time_zone` (GeoLite2),
    /// `metro_code`, `area_code` (legacy), when present.
    pub extra: Map<String, Value>,
}

impl City {
    /// Parses an entry of `cityid2city:`: `[city, region, country, extra?]`, where empty
    /// strings and `null` both mean "none".
    ///
    /// ```
    /// use tracing_redis::store::geoip::City;
    ///
    /// let c = City::from_entry("5375480", r#"["Mountain View","California","US",{"time_zone":"America/Los_Angeles"}]"#).unwrap();
    /// assert_eq!(c.city.as_deref(), Some("Mountain View"));
    /// assert_eq!(c.extra["time_zone"], "America/Los_Angeles");
    /// assert!(City::from_entry("1", "{}").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Malformed`](crate::ErrorKind::Malformed) when `json` has another shape.
    pub fn from_entry(id: &str, json: &str) -> Result<City> {
        City::parse(id.as_bytes(), json.as_bytes())
    }

    fn parse(id: &[u8], json: &[u8]) -> Result<City> {
        let id = String::from_utf8_lossy(id);
        let malformed = || {
            Error::malformed(format!(
                "city `{id}`: expected a JSON array [city, region, country, extra?], got {:?}",
                String::from_utf8_lossy(json)
            ))
        };
        let Entry(city, region, country, extra) =
            serde_json::from_slice(json).map_err(|e| malformed().with_source(e))?;
        let none_if_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
        Ok(City {
            id: id.into_owned(),
            city: none_if_empty(city),
            region: none_if_empty(region),
            country: none_if_empty(country),
            extra: extra.unwrap_or_default(),
        })
    }
}

/// An entry of `cityid2city:` as stored: `[city, region, country, extra?]`.
#[derive(serde::Deserialize)]
struct Entry(
    Option<String>,
    Option<String>,
    Option<String>,
    #[serde(default)] Option<Map<String, Value>>,
);

/// The index an address is looked up in: `::ffff:a.b.c.d` is an IPv4 address.
fn probe(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl Store {
    /// The city of `ip`, or `None` when it is in no range (before the first, in a gap, past
    /// the last) or its range has no city. Synchronous, on the calling thread: two round
    /// trips (the index, then the city).
    ///
    /// ```no_run
    /// # fn main() -> tracing_redis::Result<()> {
    /// # let mut con = redis::Client::open("redis://127.0.0.1/").unwrap().get_connection().unwrap();
    /// let store = tracing_redis::store::Store::new();
    /// if let Some(city) = store.find_city_by_ip(&mut con, "8.8.8.8")? {
    ///     println!("{:?}, {:?}", city.city, city.country);
    /// }
    /// let v6 = store.find_city_by_ip(&mut con, "2001:db8::1".parse::<std::net::IpAddr>().unwrap())?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Invalid address text ([`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput));
    /// index members or city entries of another shape
    /// ([`ErrorKind::Malformed`](crate::ErrorKind::Malformed)); any Redis error.
    pub fn find_city_by_ip(
        &self,
        con: &mut dyn ConnectionLike,
        ip: impl IpQuery,
    ) -> Result<Option<City>> {
        Ok(self.find_cities_by_ip(con, &[ip])?.pop().flatten())
    }

    /// The cities of `ips`, in order, as [`Store::find_city_by_ip`] would find them one by
    /// one, in two round trips whatever their number: one pipeline for the index, one `HMGET`
    /// for the distinct cities. Synchronous, on the calling thread.
    ///
    /// During a re-import each address gets an answer from the old data set or from the new
    /// one: when the swap falls between the two round trips, city ids the new data set lacks
    /// make the lookup ask again once.
    ///
    /// # Errors
    ///
    /// As [`Store::find_city_by_ip`]; every address is checked before anything is sent.
    pub fn find_cities_by_ip<Q: IpQuery>(
        &self,
        con: &mut dyn ConnectionLike,
        ips: &[Q],
    ) -> Result<Vec<Option<City>>> {
        let addrs = ips
            .iter()
            .map(|ip| ip.to_ip_addr().map(probe))
            .collect::<Result<Vec<_>>>()?;
        if addrs.is_empty() {
            return Ok(Vec::new());
        }
        let key = self.keys().cityid2city();
        let mut retried = false;
        loop {
            let found = self.city_ids(con, &addrs)?;
            if found.uses.is_empty() {
                return Ok(vec![None; addrs.len()]);
            }
            let entries: Vec<Option<Vec<u8>>> = redis_ctx(
                || format!("reading `{key}`"),
                redis::cmd("HMGET").arg(&key).arg(found.ids()).query(con),
            )?;
            // An id without an entry most likely means a re-import swapped the data between
            // the two round trips: asking again reads the new index with the new cities.
            if !retried && entries.iter().any(Option::is_none) {
                retried = true;
                continue;
            }
            let mut cities = Vec::with_capacity(entries.len());
            for (id, entry) in found.ids().into_iter().zip(entries) {
                cities.push(match entry {
                    Some(json) => Some(
                        City::parse(id, &json)
                            .map_err(|e| Error::malformed(format!("`{key}`: {}", e.message())))?,
                    ),
                    None => None,
                });
            }
            return Ok(found.distribute(cities));
        }
    }

    /// The city id of each address's range, in one pipeline.
    fn city_ids(&self, con: &mut dyn ConnectionLike, addrs: &[IpAddr]) -> Result<FoundIds> {
        let (v4_key, v6_key) = (self.keys().ip2cityid(), self.keys().ip2cityid_v6());
        // Probing in address order makes consecutive searches walk the same parts of the
        // sorted set, which the server's caches reward on large batches.
        let mut order: Vec<usize> = (0..addrs.len()).collect();
        order.sort_unstable_by_key(|&i| addrs[i]);
        let mut pipe = redis::Pipeline::with_capacity(addrs.len());
        for addr in order.iter().map(|&i| &addrs[i]) {
            match addr {
                IpAddr::V4(a) => pipe
                    .cmd("ZREVRANGEBYSCORE")
                    .arg(&v4_key)
                    .arg(u32::from(*a))
                    .arg(0)
                    .arg("LIMIT")
                    .arg(0)
                    .arg(1),
                // `;` sorts right after `:`, so `(<hex>;` includes every `<hex>:<id>`.
                IpAddr::V6(a) => pipe
                    .cmd("ZREVRANGEBYLEX")
                    .arg(&v6_key)
                    .arg(format!("({:032x};", u128::from(*a)))
                    .arg("-")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(1),
            };
        }
        let replies: Vec<Reply> = redis_ctx(
            || format!("reading `{v4_key}` / `{v6_key}`"),
            pipe.query(con),
        )?;
        let mut found = FoundIds {
            slots: vec![None; addrs.len()],
            ..FoundIds::default()
        };
        for (i, reply) in order.into_iter().zip(replies) {
            let addr = &addrs[i];
            let member = match reply {
                Reply::Array(items) => items.into_iter().next(),
                _ => None,
            };
            let member = match member {
                None => continue,
                Some(Reply::BulkString(m)) => m,
                Some(other) => {
                    return Err(Error::malformed(format!(
                        "unexpected reply {other:?} from `{v4_key}` / `{v6_key}`"
                    )));
                }
            };
            let id = match addr {
                IpAddr::V4(_) => member
                    .iter()
                    .rposition(|&b| b == b'_')
                    .map(|i| &member[..i]),
                IpAddr::V6(_) => member.get(32..).and_then(|rest| rest.strip_prefix(b":")),
            };
            let Some(id) = id else {
                return Err(Error::malformed(format!(
                    "member {:?} of `{}` is not `{}`; re-import the data",
                    String::from_utf8_lossy(&member),
                    if addr.is_ipv4() { &v4_key } else { &v6_key },
                    if addr.is_ipv4() {
                        "<cityid>_<row>"
                    } else {
                        "<32 hex digits>:<cityid>"
                    },
                )));
            };
            found.set(i, id);
        }
        Ok(found)
    }
}

/// The distinct city ids found by a batch, and which one each address got.
#[derive(Debug, Default)]
struct FoundIds {
    /// Distinct id → its slot.
    index: HashMap<Vec<u8>, usize>,
    slots: Vec<Option<usize>>,
    uses: Vec<usize>,
}

impl FoundIds {
    /// Records that address `at` is in a range of city `id` (none for an empty id).
    fn set(&mut self, at: usize, id: &[u8]) {
        if id.is_empty() {
            return;
        }
        let next = self.uses.len();
        let slot = match self.index.get(id) {
            Some(&slot) => slot,
            None => {
                self.index.insert(id.to_vec(), next);
                self.uses.push(0);
                next
            }
        };
        self.uses[slot] += 1;
        self.slots[at] = Some(slot);
    }

    /// The distinct ids, by slot.
    fn ids(&self) -> Vec<&[u8]> {
        let mut ids = vec![&[][..]; self.uses.len()];
        for (id, &slot) in &self.index {
            ids[slot] = id;
        }
        ids
    }

    /// One answer per address: the city of its slot, moved on its last use, cloned before.
    fn distribute(mut self, mut cities: Vec<Option<City>>) -> Vec<Option<City>> {
        self.slots
            .iter()
            .map(|slot| {
                let slot = (*slot)?;
                self.uses[slot] -= 1;
                if self.uses[slot] == 0 {
                    cities.get_mut(slot)?.take()
                } else {
                    cities.get(slot)?.clone()
                }
            })
            .collect()
    }
}
