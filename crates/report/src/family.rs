//! The kind of server a target is: the charts colour by it, so that a study
//! of two dozen targets reads as a handful of kinds, each in one colour,
//! rather than nineteen colours no legend can tell apart.

/// A kind of server, as the charts colour it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Rust,
    FlaskDev,
    FlaskGunicornSync,
    /// gunicorn with gevent or eventlet workers.
    FlaskAsync,
    PyPy,
    Sanic,
    FastApi,
    Django,
    /// Granian in front of any of the Python apps.
    Granian,
    Other,
}

impl Family {
    /// In the order the legends list them.
    pub const ALL: [Self; 10] = [
        Self::Rust,
        Self::FlaskDev,
        Self::FlaskGunicornSync,
        Self::FlaskAsync,
        Self::PyPy,
        Self::Sanic,
        Self::FastApi,
        Self::Django,
        Self::Granian,
        Self::Other,
    ];

    /// As a legend says it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rust => "Rust",
            Self::FlaskDev => "Flask dev server",
            Self::FlaskGunicornSync => "Flask gunicorn sync",
            Self::FlaskAsync => "Flask async workers",
            Self::PyPy => "PyPy",
            Self::Sanic => "Sanic",
            Self::FastApi => "FastAPI",
            Self::Django => "Django",
            Self::Granian => "Granian",
            Self::Other => "Other",
        }
    }

    /// An SVG colour. Mostly the Okabe–Ito palette, which stays apart for
    /// the common kinds of colour blindness; every one is dark enough to
    /// read as a thin line on white, and grey is kept for "other".
    pub fn color(self) -> &'static str {
        match self {
            Self::Rust => "#d55e00",
            Self::FlaskDev => "#56b4e9",
            Self::FlaskGunicornSync => "#0072b2",
            Self::FlaskAsync => "#009e73",
            Self::PyPy => "#cc79a7",
            Self::Sanic => "#e69f00",
            Self::FastApi => "#6a3d9a",
            Self::Django => "#000000",
            Self::Granian => "#8c564b",
            Self::Other => "#777777",
        }
    }
}

/// The family of a target, by the start of its name (or, for Granian, the
/// server it names): variants (`-pg8000`, `~aa`, `~q90`) keep their family.
pub fn family(name: &str) -> Family {
    // The server is what a Granian target is about, whichever app it runs.
    if name.contains("-granian") {
        return Family::Granian;
    }
    // `pypy-flask-dev` must not be taken for a Flask dev server: every
    // prefix below starts where a name starts, and none is the start of
    // another family's.
    const PREFIXES: [(&str, Family); 9] = [
        ("rust", Family::Rust),
        ("flask-dev", Family::FlaskDev),
        ("flask-gunicorn-sync", Family::FlaskGunicornSync),
        ("flask-gunicorn-gevent", Family::FlaskAsync),
        ("flask-gunicorn-eventlet", Family::FlaskAsync),
        ("pypy-", Family::PyPy),
        ("sanic", Family::Sanic),
        ("fastapi", Family::FastApi),
        ("django", Family::Django),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map_or(Family::Other, |&(_, f)| f)
}

#[cfg(test)]
mod tests {
    use super::{Family, family};

    #[test]
    fn every_built_in_target_has_the_family_its_name_says() {
        let names = crate::tests::built_in_target_names();
        let expected = [
            ("rust", Family::Rust),
            ("flask-dev", Family::FlaskDev),
            ("flask-gunicorn-sync", Family::FlaskGunicornSync),
            ("flask-gunicorn-gevent", Family::FlaskAsync),
            ("flask-gunicorn-eventlet", Family::FlaskAsync),
            ("flask-dev-pg8000", Family::FlaskDev),
            ("flask-gunicorn-sync-pg8000", Family::FlaskGunicornSync),
            ("flask-gunicorn-gevent-pg8000", Family::FlaskAsync),
            ("flask-gunicorn-eventlet-pg8000", Family::FlaskAsync),
            ("flask-granian", Family::Granian),
            ("pypy-flask-dev", Family::PyPy),
            ("pypy-flask-gunicorn-sync", Family::PyPy),
            ("pypy-flask-gunicorn-gevent", Family::PyPy),
            ("pypy-flask-gunicorn-eventlet", Family::PyPy),
            ("pypy-flask-dev-pg8000", Family::PyPy),
            ("pypy-flask-gunicorn-sync-pg8000", Family::PyPy),
            ("pypy-flask-gunicorn-gevent-pg8000", Family::PyPy),
            ("pypy-flask-gunicorn-eventlet-pg8000", Family::PyPy),
            ("sanic-tortoise", Family::Sanic),
            ("fastapi", Family::FastApi),
            ("fastapi-granian", Family::Granian),
            ("django-gunicorn-sync", Family::Django),
            ("django-gunicorn-gthread", Family::Django),
            ("django-granian", Family::Granian),
        ];
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let listed: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names, listed,
            "bench/targets.toml changed: update this table"
        );
        for (name, f) in expected {
            assert_eq!(family(name), f, "{name}");
        }
    }

    #[test]
    fn a_variant_keeps_its_family_and_an_unknown_name_is_other() {
        assert_eq!(family("rust~aa"), Family::Rust);
        assert_eq!(family("flask-gunicorn-sync~q90"), Family::FlaskGunicornSync);
        assert_eq!(family("pypy-flask-dev~aa"), Family::PyPy);
        assert_eq!(family("django-granian~aa"), Family::Granian);
        assert_eq!(family("node"), Family::Other);
        assert_eq!(family(""), Family::Other);
    }

    #[test]
    fn every_family_has_its_own_colour() {
        let mut colors: Vec<&str> = Family::ALL.iter().map(|f| f.color()).collect();
        colors.sort_unstable();
        colors.dedup();
        assert_eq!(colors.len(), Family::ALL.len());
    }
}
