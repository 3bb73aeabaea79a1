// The bookstore API (docs/api.md) in Node.js, with nothing but `node:http`
// and the `pg` driver: the worked example of docs/targets.md, a target in a
// language bookbench has no other code in.
//
// It learns its address and port from HOST and PORT and its database from
// DATABASE_URL, as every target does (HOST is 127.0.0.1 but on a host of
// bookbench's lab). One process, one event loop, a
// pool of database connections: the shape of a plain Node service.

"use strict";

const http = require("node:http");
const { randomUUID } = require("node:crypto");
const pg = require("pg");

const BODY_LIMIT = 64 * 1024;
const INT_MAX = 2147483647;
const OFFSET_MAX = 9223372036854775807n;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

// Dates stay the text PostgreSQL sends (`YYYY-MM-DD`): the driver's default
// turns them into a JavaScript Date at local midnight, which can shift a day.
pg.types.setTypeParser(pg.types.builtins.DATE, (text) => text);

// Sorting is by code point, as the contract asks, whatever the database's
// collation: hence COLLATE "C" on every ORDER BY of text.
const GENRES_OF_BOOK = `ARRAY(SELECT g.name FROM book_genre bg JOIN genre g ON g.id = bg.genre_id
                  WHERE bg.book_id = b.id ORDER BY g.name COLLATE "C")`;
const AUTHOR_COLUMNS =
  "id, name, country_code, email, phone, contact_address, contract_started, contract_finished, contract_value";
const SQL = {
  authorsByOffset: `SELECT ${AUTHOR_COLUMNS} FROM author ORDER BY id LIMIT $1 OFFSET $2::bigint`,
  authorsAfter: `SELECT ${AUTHOR_COLUMNS} FROM author WHERE id > $2 ORDER BY id LIMIT $1`,
  author: `SELECT ${AUTHOR_COLUMNS} FROM author WHERE id = $1`,
  authorBooks: `
    SELECT b.id, b.title, b.published,
           array_agg(g.name ORDER BY g.name COLLATE "C") AS genres
      FROM book b
      JOIN book_genre bg ON bg.book_id = b.id
      JOIN genre g ON g.id = bg.genre_id
     WHERE b.author_id = $1
     GROUP BY b.id
     ORDER BY b.published NULLS LAST, b.title COLLATE "C", b.id`,
  insertAuthor: `
    INSERT INTO author (id, name, country_code, email, phone, contact_address,
                        contract_started, contract_finished, contract_value)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
  booksByOffset: bookList("ORDER BY b.id LIMIT $1 OFFSET $2::bigint"),
  booksAfter: bookList("WHERE b.id > $2 ORDER BY b.id LIMIT $1"),
  book: `
    SELECT b.id, b.author_id, b.title, b.isbn, b.published, b.pages, b.price,
           ${GENRES_OF_BOOK} AS genres,
           a.name AS author_name, a.country_code AS author_country_code
      FROM book b JOIN author a ON a.id = b.author_id
     WHERE b.id = $1`,
  insertBook: `
    INSERT INTO book (id, author_id, title, isbn, published, pages, price)
    VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  insertBookGenres: "INSERT INTO book_genre (book_id, genre_id) SELECT $1, unnest($2::int[])",
  genres: 'SELECT id, name FROM genre ORDER BY name COLLATE "C"',
  countries: "SELECT code, name FROM country ORDER BY code",
};

function bookList(tail) {
  return `SELECT b.id, b.author_id, b.title, b.isbn, b.published, b.pages, b.price,
                 ${GENRES_OF_BOOK} AS genres
            FROM book b ${tail}`;
}

// ---------------------------------------------------------------- responses

/** An error the client caused: its status, message and per-field messages. */
class ClientError extends Error {
  constructor(status, message, errors) {
    super(message);
    this.status = status;
    this.errors = errors;
  }
}

const invalid = (errors) => new ClientError(422, "invalid input", errors);
const notFound = () => new ClientError(404, "not found");

function send(res, status, body, headers = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const type = typeof body === "string" ? "text/plain; charset=utf-8" : "application/json";
  res.writeHead(status, {
    "Content-Type": type,
    "Content-Length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendError(res, err) {
  if (err instanceof ClientError) {
    const body = { error: err.message };
    if (err.errors) body.errors = err.errors;
    return send(res, err.status, body);
  }
  // What went wrong stays in the log; the client learns only its kind.
  console.error(err);
  if (isConnectionFailure(err)) return send(res, 503, { error: "database unavailable" });
  return send(res, 500, { error: "internal error" });
}

function isConnectionFailure(err) {
  return (
    ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "57P01", "57P03", "53300"].includes(err.code) ||
    /Connection terminated|timeout exceeded when trying to connect/.test(err.message || "")
  );
}

// ---------------------------------------------------------------- reading requests

/** The body as text, refused past 64 KiB and when it is not UTF-8. */
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size <= BODY_LIMIT) chunks.push(chunk);
      // An oversized body is read to its end and dropped, so that the
      // client, still sending, gets the 413 rather than a reset connection;
      // past 1 MiB the connection is cut instead.
      if (size > 16 * BODY_LIMIT) req.destroy();
    });
    req.on("error", () => reject(new ClientError(400, "the request body could not be read")));
    req.on("end", () => {
      if (size > BODY_LIMIT) {
        return reject(new ClientError(413, "request body too large (the limit is 64 KiB)"));
      }
      try {
        resolve(new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks)));
      } catch {
        reject(new ClientError(400, "the request body is not valid JSON"));
      }
    });
  });
}

/** A JSON object body; anything else is a 400. */
async function readObject(req) {
  const text = await readBody(req);
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ClientError(400, "the request body is not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ClientError(400, "the request body must be a JSON object");
  }
  return value;
}

/** Checked from the headers, before the body is read. */
function requireJson(req) {
  const type = (req.headers["content-type"] || "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json" && !/^application\/[^/]+\+json$/.test(type)) {
    throw new ClientError(415, "the request body must be JSON (Content-Type: application/json)");
  }
}

/** limit, offset and after, every bad one named in one 422. */
function paging(query) {
  const errors = {};
  const once = (name) => {
    const values = query.getAll(name);
    if (values.length > 1) errors[name] = ["must be given at most once"];
    return values.length === 1 ? values[0] : undefined;
  };
  const rawLimit = once("limit");
  const rawOffset = once("offset");
  const rawAfter = once("after");
  let limit = 20;
  if (rawLimit !== undefined && !errors.limit) {
    limit = /^[+-]?\d+$/.test(rawLimit) ? Number(rawLimit) : NaN;
    if (!(limit >= 1 && limit <= 100)) errors.limit = ["must be an integer from 1 to 100"];
  }
  let offset = "0";
  if (rawOffset !== undefined && !errors.offset) {
    const ok = /^[+-]?\d+$/.test(rawOffset) && BigInt(rawOffset) >= 0n && BigInt(rawOffset) <= OFFSET_MAX;
    if (ok) offset = BigInt(rawOffset).toString();
    else errors.offset = ["must be an integer from 0 to 9223372036854775807"];
  }
  if (rawAfter !== undefined && !errors.after && !UUID.test(rawAfter)) {
    errors.after = ["must be an id (a hyphenated UUID)"];
  }
  if (rawAfter !== undefined && rawOffset !== undefined) {
    (errors.after ||= []).push("cannot be combined with offset");
    (errors.offset ||= []).push("cannot be combined with after");
  }
  if (Object.keys(errors).length > 0) throw invalid(errors);
  return { limit, offset, after: rawAfter === undefined ? undefined : rawAfter.toLowerCase() };
}

// ---------------------------------------------------------------- validation

/**
 * Collects each field's messages. Each check returns the value to store, or
 * records why it cannot and returns undefined.
 */
class Fields {
  constructor(body, known) {
    this.body = body;
    this.errors = {};
    for (const name of Object.keys(body)) {
      if (!known.includes(name)) this.fail(name, "unknown field");
    }
  }

  fail(name, message) {
    (this.errors[name] ||= []).push(message);
  }

  present(name, required) {
    const v = this.body[name];
    if (v === undefined || v === null) {
      if (required) this.fail(name, "is required");
      return false;
    }
    return true;
  }

  text(name, { min, max, required = true }) {
    if (!this.present(name, required)) return null;
    const v = this.body[name];
    if (typeof v !== "string") return this.fail(name, "must be a string");
    if (v.includes("\u0000")) return this.fail(name, "must not contain NUL characters");
    const length = [...v].length;
    if (length < min) return this.fail(name, `must be at least ${min} characters`);
    if (length > max) return this.fail(name, `must be at most ${max} characters`);
    return v;
  }

  integer(name, { min, max, required = false }) {
    if (!this.present(name, required)) return null;
    const v = this.body[name];
    if (!Number.isInteger(v) || v < -INT_MAX - 1 || v > INT_MAX) {
      return this.fail(name, "must be a 32-bit integer");
    }
    if (v < min || v > max) return this.fail(name, `must be from ${min} to ${max}`);
    return v;
  }

  /** An RFC 3339 timestamp, as given (PostgreSQL parses it to the microsecond). */
  timestamp(name) {
    if (!this.present(name, false)) return null;
    const v = this.body[name];
    const m = typeof v === "string" &&
      /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/.exec(v);
    if (!m || !validDate(+m[1], +m[2], +m[3]) || +m[4] > 23 || +m[5] > 59 || +m[6] > 59 ||
        (m[9] !== undefined && (+m[9] > 23 || +m[10] > 59))) {
      return this.fail(name, "must be an RFC 3339 timestamp");
    }
    const ms = instant(v);
    const year = new Date(ms).getUTCFullYear();
    if (!(year >= 1 && year <= 9999)) return this.fail(name, "must be between years 1 and 9999");
    return v;
  }

  date(name) {
    if (!this.present(name, false)) return null;
    const v = this.body[name];
    const m = typeof v === "string" && /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
    if (!m || !validDate(+m[1], +m[2], +m[3])) return this.fail(name, "must be a date (YYYY-MM-DD)");
    if (+m[1] < 1) return this.fail(name, "must be between years 1 and 9999");
    return v;
  }

  ok() {
    if (Object.keys(this.errors).length > 0) throw invalid(this.errors);
  }
}

/** Milliseconds since the epoch of a checked RFC 3339 timestamp (Date.parse
 * takes at most three digits of a fraction). */
function instant(timestamp) {
  return Date.parse(timestamp.toUpperCase().replace(/(\.\d{3})\d+/, "$1"));
}

function validDate(year, month, day) {
  if (month < 1 || month > 12 || day < 1) return false;
  const days = new Date(Date.UTC(2000, month, 0)).getUTCDate();
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 ? (leap ? 29 : 28) : days);
}

// A local part and a domain of dot-separated labels: what an address that
// mail can reach looks like, without a library for it.
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const PHONE = /^[0-9 +\-()]{1,32}$/;

function validIsbn(isbn) {
  if (!/^\d+(-\d+)*$/.test(isbn)) return "must be an ISBN-13: 13 digits, optionally in hyphenated groups";
  const digits = isbn.replaceAll("-", "");
  if (digits.length !== 13) return "must be an ISBN-13: 13 digits, optionally in hyphenated groups";
  const sum = [...digits].reduce((s, d, i) => s + Number(d) * (i % 2 === 0 ? 1 : 3), 0);
  return sum % 10 === 0 ? null : "is not a valid ISBN-13 (wrong check digit)";
}

// ---------------------------------------------------------------- marshalling

const timestamp = (d) => (d === null ? null : d.toISOString().slice(0, 19) + "Z");

function authorOverview(row) {
  return {
    id: row.id,
    name: row.name,
    country_code: row.country_code,
    email: row.email,
    phone: row.phone,
    contact_address: row.contact_address,
    contract_started: timestamp(row.contract_started),
    contract_finished: timestamp(row.contract_finished),
    contract_value: row.contract_value,
  };
}

function bookOverview(row) {
  return {
    id: row.id,
    author_id: row.author_id,
    title: row.title,
    isbn: row.isbn,
    published: row.published,
    pages: row.pages,
    price: row.price,
    genres: row.genres,
  };
}

// ---------------------------------------------------------------- handlers

function makeHandlers(pool, reference) {
  const page = async (query, byOffset, after, map) => {
    const p = paging(query);
    const { rows } = p.after === undefined
      ? await pool.query(byOffset, [p.limit, p.offset])
      : await pool.query(after, [p.limit, p.after]);
    return rows.map(map);
  };

  return {
    hello: async (req, res) => send(res, 200, "Hello, World!"),

    helloPost: async (req, res) => {
      const body = await readObject(req);
      if (!("id" in body)) throw new ClientError(400, "Missing required parameter 'id'");
      const id = typeof body.id === "string" ? body.id : JSON.stringify(body.id);
      send(res, 200, `Hello, ${id}`);
    },

    listAuthors: async (req, res, query) =>
      send(res, 200, await page(query, SQL.authorsByOffset, SQL.authorsAfter, authorOverview)),

    createAuthor: async (req, res) => {
      requireJson(req);
      const f = new Fields(await readObject(req), [
        "name", "country_code", "email", "phone", "contact_address",
        "contract_started", "contract_finished", "contract_value",
      ]);
      const name = f.text("name", { min: 1, max: 200 });
      const country = f.text("country_code", { min: 2, max: 2 });
      if (country && !reference.countries.has(country)) f.fail("country_code", "not a known country code");
      const email = f.text("email", { min: 1, max: 254 });
      if (email && (!EMAIL.test(email) || Buffer.byteLength(email) > 254)) {
        f.fail("email", "not a valid email address");
      }
      const phone = f.text("phone", { min: 1, max: 32 });
      if (phone && !PHONE.test(phone)) f.fail("phone", "must be 1 to 32 characters: digits, spaces and + - ( )");
      const address = f.text("contact_address", { min: 1, max: 500 });
      const started = f.timestamp("contract_started");
      const finished = f.timestamp("contract_finished");
      if (typeof started === "string" && typeof finished === "string" &&
          instant(finished) < instant(started)) {
        f.fail("contract_finished", "must not be before contract_started");
      }
      const value = f.integer("contract_value", { min: 0, max: INT_MAX });
      f.ok();
      const id = randomUUID();
      await pool.query(SQL.insertAuthor, [
        id, name, country, email, phone, address,
        started, finished, value,
      ]);
      send(res, 201, { id }, { Location: `/author/${id}` });
    },

    author: async (req, res, query, id) => {
      const [{ rows: [row] }, { rows: books }] = await Promise.all([
        pool.query(SQL.author, [id]),
        pool.query(SQL.authorBooks, [id]),
      ]);
      if (row === undefined) throw notFound();
      const genres = [...new Set(books.flatMap((b) => b.genres))].sort();
      send(res, 200, {
        ...authorOverview(row),
        books: books.map((b) => ({ id: b.id, title: b.title, published: b.published, genres: b.genres })),
        genres,
      });
    },

    listBooks: async (req, res, query) =>
      send(res, 200, await page(query, SQL.booksByOffset, SQL.booksAfter, bookOverview)),

    createBook: async (req, res) => {
      requireJson(req);
      const f = new Fields(await readObject(req), [
        "author_id", "title", "isbn", "genres", "published", "pages", "price",
      ]);
      let authorId = null;
      if (f.present("author_id", true)) {
        if (typeof f.body.author_id === "string" && UUID.test(f.body.author_id)) {
          authorId = f.body.author_id.toLowerCase();
        } else {
          f.fail("author_id", "must be an id (a hyphenated UUID)");
        }
      }
      const title = f.text("title", { min: 1, max: 300 });
      const isbn = f.text("isbn", { min: 1, max: 100 });
      if (isbn) {
        const why = validIsbn(isbn);
        if (why) f.fail("isbn", why);
      }
      let genreIds = [];
      if (f.present("genres", true)) {
        const g = f.body.genres;
        if (!Array.isArray(g) || !g.every((n) => typeof n === "string")) {
          f.fail("genres", "must be a list of genre names");
        } else if (g.length < 1 || g.length > 10) {
          f.fail("genres", "must name 1 to 10 genres");
        } else if (new Set(g).size !== g.length) {
          f.fail("genres", "must not repeat a genre");
        } else {
          const unknown = g.filter((n) => !reference.genres.has(n));
          if (unknown.length > 0) f.fail("genres", `unknown genres: ${unknown.join(", ")}`);
          genreIds = g.map((n) => reference.genres.get(n));
        }
      }
      const published = f.date("published");
      const pages = f.integer("pages", { min: 1, max: 100000 });
      const price = f.integer("price", { min: 0, max: INT_MAX });
      f.ok();
      const id = randomUUID();
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        await client.query(SQL.insertBook, [id, authorId, title, isbn, published, pages, price]);
        await client.query(SQL.insertBookGenres, [id, genreIds]);
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        if (err.code === "23503" && err.constraint === "book_author_id_fkey") {
          throw invalid({ author_id: ["no author has this id"] });
        }
        throw err;
      } finally {
        client.release();
      }
      send(res, 201, { id }, { Location: `/book/${id}` });
    },

    book: async (req, res, query, id) => {
      const { rows: [row] } = await pool.query(SQL.book, [id]);
      if (row === undefined) throw notFound();
      send(res, 200, {
        ...bookOverview(row),
        author: { id: row.author_id, name: row.author_name, country_code: row.author_country_code },
      });
    },

    genres: async (req, res) => send(res, 200, (await pool.query(SQL.genres)).rows),

    countries: async (req, res) => send(res, 200, (await pool.query(SQL.countries)).rows),
  };
}

// ---------------------------------------------------------------- routing

/** The handler for a path and method: [handler, id] or a 404/405. */
function route(h, method, path) {
  const get = method === "GET" || method === "HEAD";
  const table = {
    "/": { GET: h.hello, POST: h.helloPost },
    "/author": { GET: h.listAuthors, POST: h.createAuthor },
    "/book": { GET: h.listBooks, POST: h.createBook },
    "/genre": { GET: h.genres },
    "/country": { GET: h.countries },
  };
  let methods = table[path];
  let id;
  const m = /^\/(author|book)\/([^/]+)$/.exec(path);
  if (methods === undefined && m) {
    // A path that cannot name a resource names nothing: 404, not 422.
    if (!UUID.test(m[2])) throw notFound();
    methods = { GET: m[1] === "author" ? h.author : h.book };
    id = m[2].toLowerCase();
  }
  if (methods === undefined) throw notFound();
  const handler = methods[get ? "GET" : method];
  if (handler === undefined) {
    throw Object.assign(new ClientError(405, "method not allowed"), {
      allow: Object.keys(methods).join(", "),
    });
  }
  return [handler, id];
}

async function main() {
  const port = Number(process.env.PORT);
  if (!Number.isInteger(port) || port <= 0 || !process.env.DATABASE_URL) {
    console.error("error: set PORT and DATABASE_URL (bookbench sets both for its targets)");
    process.exit(2);
  }
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
  pool.on("error", (err) => console.error("idle database connection lost:", err.message));

  // The two small, static reference tables, held to validate writes.
  const reference = {
    countries: new Set((await pool.query(SQL.countries)).rows.map((r) => r.code)),
    genres: new Map((await pool.query(SQL.genres)).rows.map((r) => [r.name, r.id])),
  };
  const handlers = makeHandlers(pool, reference);

  const server = http.createServer(async (req, res) => {
    const q = req.url.indexOf("?");
    const path = q === -1 ? req.url : req.url.slice(0, q);
    const query = new URLSearchParams(q === -1 ? "" : req.url.slice(q + 1));
    try {
      const [handler, id] = route(handlers, req.method, path);
      await handler(req, res, query, id);
    } catch (err) {
      if (err.allow) res.setHeader("Allow", err.allow);
      if (!res.headersSent) sendError(res, err);
      else res.destroy();
    }
  });
  const host = process.env.HOST || "127.0.0.1";
  server.listen(port, host, () => console.log(`listening on ${host}:${port}`));

  const stop = () => server.close(() => pool.end().then(() => process.exit(0)));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  console.error("error:", err.message);
  process.exit(1);
});
