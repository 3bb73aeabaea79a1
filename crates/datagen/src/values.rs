//! Realistic-looking values, drawn from small word lists. Everything is
//! ASCII, so that the emails built from names are valid as they are.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use fastrand::Rng;

const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Adrian",
    "Agnes",
    "Aisha",
    "Alan",
    "Albert",
    "Alice",
    "Amara",
    "Amelia",
    "Ana",
    "Andrea",
    "Anna",
    "Antonio",
    "Arjun",
    "Astrid",
    "Barbara",
    "Ben",
    "Bianca",
    "Boris",
    "Carla",
    "Carlos",
    "Carmen",
    "Caroline",
    "Chen",
    "Chloe",
    "Clara",
    "Daniel",
    "David",
    "Diana",
    "Dmitri",
    "Elena",
    "Elif",
    "Elijah",
    "Elsa",
    "Emil",
    "Emma",
    "Erik",
    "Ethan",
    "Fatima",
    "Felix",
    "Fiona",
    "Francesca",
    "Gabriel",
    "George",
    "Grace",
    "Hana",
    "Hannah",
    "Hassan",
    "Helen",
    "Hugo",
    "Ibrahim",
    "Ines",
    "Ingrid",
    "Irene",
    "Isaac",
    "Ivan",
    "Jack",
    "James",
    "Jana",
    "Javier",
    "Jin",
    "Johan",
    "Jonas",
    "Jorge",
    "Julia",
    "Kai",
    "Karin",
    "Kenji",
    "Kofi",
    "Lars",
    "Laura",
    "Leila",
    "Leo",
    "Lina",
    "Lucas",
    "Lucia",
    "Luis",
    "Maja",
    "Marco",
    "Maria",
    "Marta",
    "Mateo",
    "Mei",
    "Mia",
    "Miguel",
    "Mina",
    "Nadia",
    "Nia",
    "Nikolai",
    "Nina",
    "Noah",
    "Nora",
    "Olga",
    "Omar",
    "Oscar",
    "Paolo",
    "Pedro",
    "Priya",
    "Rafael",
    "Rania",
    "Ravi",
    "Rosa",
    "Ruth",
    "Samuel",
    "Sara",
    "Sofia",
    "Sven",
    "Tariq",
    "Teresa",
    "Thomas",
    "Tomas",
    "Valentina",
    "Victor",
    "Wei",
    "Yara",
    "Yusuf",
    "Zara",
    "Zoe",
];

const LAST_NAMES: &[&str] = &[
    "Abe",
    "Adams",
    "Ahmed",
    "Alvarez",
    "Andersen",
    "Baker",
    "Bauer",
    "Becker",
    "Bianchi",
    "Brown",
    "Campbell",
    "Chen",
    "Costa",
    "Cruz",
    "Dahl",
    "Diaz",
    "Dubois",
    "Edwards",
    "Eriksson",
    "Evans",
    "Fischer",
    "Fontaine",
    "Garcia",
    "Gomez",
    "Gonzalez",
    "Gray",
    "Hansen",
    "Hoffmann",
    "Hughes",
    "Ivanov",
    "Jansen",
    "Jensen",
    "Johnson",
    "Jones",
    "Kato",
    "Kaur",
    "Kim",
    "Klein",
    "Kowalski",
    "Kumar",
    "Larsen",
    "Lee",
    "Lopez",
    "Martin",
    "Martinez",
    "Meyer",
    "Moreau",
    "Moreno",
    "Murphy",
    "Nagy",
    "Nakamura",
    "Nguyen",
    "Nielsen",
    "Novak",
    "Okafor",
    "Olsen",
    "Park",
    "Patel",
    "Perez",
    "Petrov",
    "Popescu",
    "Ramirez",
    "Ricci",
    "Rodriguez",
    "Romano",
    "Rossi",
    "Russo",
    "Sato",
    "Schmidt",
    "Schneider",
    "Silva",
    "Singh",
    "Smith",
    "Sousa",
    "Suzuki",
    "Svensson",
    "Tanaka",
    "Taylor",
    "Thomas",
    "Torres",
    "Wagner",
    "Walker",
    "Wang",
    "Weber",
    "Williams",
    "Wilson",
    "Wong",
    "Yamamoto",
    "Yilmaz",
    "Young",
    "Zhang",
    "Zimmermann",
];

const EMAIL_DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "example.net",
    "mail.example.com",
    "post.example.org",
    "authors.example.net",
    "writers.example.com",
    "inbox.example.org",
];

const STREETS: &[&str] = &[
    "Acacia", "Birch", "Cedar", "Chestnut", "Elm", "Hawthorn", "Juniper", "Linden", "Maple", "Oak",
    "Pine", "Poplar", "Rowan", "Spruce", "Sycamore", "Willow", "Harbour", "Mill", "Station",
    "Church", "Market", "Bridge", "Castle", "Garden", "Meadow", "River", "Park",
];

const STREET_KINDS: &[&str] = &[
    "Street", "Road", "Avenue", "Lane", "Way", "Place", "Court", "Drive", "Terrace", "Row",
];

const CITIES: &[&str] = &[
    "Amsterdam",
    "Athens",
    "Auckland",
    "Bangalore",
    "Barcelona",
    "Berlin",
    "Bogota",
    "Boston",
    "Brussels",
    "Buenos Aires",
    "Cairo",
    "Cape Town",
    "Chicago",
    "Copenhagen",
    "Dublin",
    "Edinburgh",
    "Helsinki",
    "Istanbul",
    "Jakarta",
    "Kyoto",
    "Lagos",
    "Lima",
    "Lisbon",
    "London",
    "Lyon",
    "Madrid",
    "Melbourne",
    "Mexico City",
    "Milan",
    "Montreal",
    "Mumbai",
    "Nairobi",
    "Oslo",
    "Paris",
    "Prague",
    "Reykjavik",
    "Rome",
    "Santiago",
    "Seoul",
    "Stockholm",
    "Sydney",
    "Taipei",
    "Tokyo",
    "Toronto",
    "Valencia",
    "Vienna",
    "Warsaw",
    "Zurich",
];

const ADJECTIVES: &[&str] = &[
    "Silent",
    "Broken",
    "Golden",
    "Hidden",
    "Last",
    "Lost",
    "Midnight",
    "Quiet",
    "Red",
    "Secret",
    "Shattered",
    "Silver",
    "Distant",
    "Burning",
    "Frozen",
    "Wandering",
    "Forgotten",
    "Crimson",
    "Endless",
    "Hollow",
    "Little",
    "Long",
    "Northern",
    "Painted",
    "Restless",
    "Salt",
    "Savage",
    "Small",
    "Southern",
    "Strange",
    "Velvet",
    "Wild",
    "Winter",
    "Yellow",
];

const NOUNS: &[&str] = &[
    "Garden",
    "River",
    "House",
    "City",
    "Sea",
    "Mountain",
    "Forest",
    "Letter",
    "Map",
    "Harbour",
    "Bridge",
    "Island",
    "Kingdom",
    "Mirror",
    "Orchard",
    "Road",
    "Shadow",
    "Song",
    "Storm",
    "Tide",
    "Tower",
    "Voyage",
    "Window",
    "Winter",
    "Ashes",
    "Bones",
    "Clocks",
    "Dreams",
    "Embers",
    "Feathers",
    "Ghosts",
    "Lanterns",
    "Machines",
    "Rivers",
    "Stars",
    "Stones",
    "Wolves",
    "Empire",
    "Engine",
    "Archive",
    "Atlas",
    "Compass",
    "Lighthouse",
];

fn pick<'a>(rng: &mut Rng, list: &[&'a str]) -> &'a str {
    list[rng.usize(..list.len())]
}

/// A person's name, and the email address made from it.
pub(crate) fn name_and_email(rng: &mut Rng, name: &mut String, email: &mut String) {
    let first = pick(rng, FIRST_NAMES);
    let last = pick(rng, LAST_NAMES);
    name.clear();
    let _ = write!(name, "{first} {last}");
    email.clear();
    for part in [first, ".", last] {
        email.extend(part.chars().map(|c| c.to_ascii_lowercase()));
    }
    let _ = write!(email, "{}@{}", rng.u32(1..10_000), pick(rng, EMAIL_DOMAINS));
}

/// `+CC NNN NNN NNNN`: digits, spaces and a plus, as the contract allows.
pub(crate) fn phone(rng: &mut Rng, out: &mut String) {
    out.clear();
    let _ = write!(
        out,
        "+{} {:03} {:03} {:04}",
        rng.u32(1..100),
        rng.u32(100..1000),
        rng.u32(0..1000),
        rng.u32(0..10_000)
    );
}

pub(crate) fn address(rng: &mut Rng, out: &mut String) {
    out.clear();
    let _ = write!(
        out,
        "{} {} {}, {} {:05}",
        rng.u32(1..400),
        pick(rng, STREETS),
        pick(rng, STREET_KINDS),
        pick(rng, CITIES),
        rng.u32(1000..100_000)
    );
}

/// A contract: most authors have one, some of which have ended.
pub(crate) struct Contract {
    pub started: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    pub value: Option<i32>,
}

const EPOCH_2000: i64 = 946_684_800;
const EPOCH_2025: i64 = 1_735_689_600;

pub(crate) fn contract(rng: &mut Rng) -> Contract {
    if rng.u8(..100) < 20 {
        return Contract {
            started: None,
            finished: None,
            value: None,
        };
    }
    let start = rng.i64(EPOCH_2000..EPOCH_2025);
    let finished = (rng.u8(..100) < 60).then(|| start + rng.i64(30 * 86_400..3650 * 86_400));
    Contract {
        started: Utc.timestamp_opt(start, 0).single(),
        finished: finished.and_then(|f| Utc.timestamp_opt(f, 0).single()),
        value: Some(rng.i32(1_000..2_000_000)),
    }
}

pub(crate) fn title(rng: &mut Rng, out: &mut String) {
    out.clear();
    let _ = match rng.u8(..4) {
        0 => write!(out, "The {} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS)),
        1 => write!(out, "{} of {}", pick(rng, NOUNS), pick(rng, NOUNS)),
        2 => write!(
            out,
            "The {} of the {} {}",
            pick(rng, NOUNS),
            pick(rng, ADJECTIVES),
            pick(rng, NOUNS)
        ),
        _ => write!(out, "{} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS)),
    };
}

/// An ISBN-13 (978 or 979 prefix) with a valid check digit, digits only.
pub(crate) fn isbn(rng: &mut Rng, out: &mut String) {
    out.clear();
    let mut digits = [0u8; 13];
    digits[..3].copy_from_slice(if rng.bool() { &[9, 7, 8] } else { &[9, 7, 9] });
    for d in &mut digits[3..12] {
        *d = rng.u8(..10);
    }
    digits[12] = isbn13_check_digit(&digits[..12]);
    out.extend(digits.iter().map(|d| char::from(b'0' + d)));
}

/// The check digit of the first twelve digits of an ISBN-13.
pub fn isbn13_check_digit(first12: &[u8]) -> u8 {
    let sum: u32 = first12
        .iter()
        .enumerate()
        .map(|(i, &d)| u32::from(d) * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    // The remainder is below 10, so the cast cannot truncate.
    ((10 - sum % 10) % 10) as u8
}

pub(crate) fn published(rng: &mut Rng) -> Option<NaiveDate> {
    if rng.u8(..100) < 10 {
        return None;
    }
    NaiveDate::from_ymd_opt(1950, 1, 1)?.checked_add_days(chrono::Days::new(rng.u64(..27_393)))
}

pub(crate) fn pages(rng: &mut Rng) -> Option<i32> {
    (rng.u8(..100) >= 5).then(|| rng.i32(40..=1_200))
}

pub(crate) fn price(rng: &mut Rng) -> Option<i32> {
    (rng.u8(..100) >= 5).then(|| rng.i32(199..=4_999))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isbn_check_digit_matches_a_published_isbn() {
        // 978-0-306-40615-7
        assert_eq!(isbn13_check_digit(&[9, 7, 8, 0, 3, 0, 6, 4, 0, 6, 1, 5]), 7);
    }
}
