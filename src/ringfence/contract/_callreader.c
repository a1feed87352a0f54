/* The compiled call reader: checks a call request against the rules of
 * schemas/call.schema.json and converts it to a ringfence.contract.request.Call, in one pass over
 * the dict. What it knows of the schema (names, kinds of values, vocabularies, required keys, the
 * Call's slots) comes from _callreader_tables.h, generated from the schema when the wheel is
 * built; what it knows by hand is how to check each kind of value and how to convert the arrays.
 *
 * It only ever accepts calls the schema accepts. Anything it is not sure of (a field it does not
 * know, a value of an unexpected Python type, a date that is not in the calendar, text outside
 * ASCII where a pattern applies) makes it answer None, and request.py then takes the reference
 * path (jsonschema_rs and jsonschema, then the Python conversion), which also words the errors.
 * So this file never rejects a call and never words an error: it is a faster road to the same
 * Call. It also reads a call straight from its line of JSON (read_line, read_lines: see "a call
 * read from its line of JSON" below), handing over any line it is not sure of. tests/test_core_callreader.py checks on generated and mutated calls that both roads give
 * the same Call, and that this one accepts nothing the schema rejects.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <structmember.h>
#include <string.h>
#include <stdint.h>

/* Results of the checking helpers: sure and done, not sure (take the reference path), or a
 * Python exception is set (out of memory). */
#define OK 1
#define UNSURE 0
#define FAILED (-1)
/* ---- text ------------------------------------------------------------------------------- */

/* The characters of an exact ASCII str, or NULL. Patterns in the schema are ASCII; other text
 * (digits of other scripts, say) is for the reference path to judge. */
static inline const char *ascii(PyObject *value, Py_ssize_t *size)
{
    if (!PyUnicode_CheckExact(value) || !PyUnicode_IS_COMPACT_ASCII(value))
        return NULL;
    *size = PyUnicode_GET_LENGTH(value);
    return (const char *)(((PyASCIIObject *)value) + 1);
}

typedef struct {
    const char *text;
    Py_ssize_t size;
} Name;

#define NAME(s) {s, sizeof(s) - 1}
#define INDEX_SIZE 64
#define MAX_NAMES 32

/* A set of names with a small hash index on Python's own str hash, filled once at import (see
 * index_names). Dict keys carry their hash already, so finding a key costs one probe and one
 * comparison of its characters. */
typedef struct {
    const Name *names;
    int count;
    Py_hash_t hashes[MAX_NAMES];
    signed char index[INDEX_SIZE]; /* position in names, or -1 */
    PyObject *texts[MAX_NAMES];    /* each name as a str (a vocabulary's words as it writes them) */
} Names;

#define NAMES(array) {array, (int)(sizeof(array) / sizeof(array[0])), {0}, {0}, {0}}

static int index_names(Names *table)
{
    if (table->count > MAX_NAMES) {
        PyErr_SetString(PyExc_RuntimeError, "a table of the call reader has too many names");
        return -1;
    }
    memset(table->index, -1, sizeof(table->index));
    for (int i = 0; i < table->count; i++) {
        PyObject *text = PyUnicode_FromStringAndSize(table->names[i].text, table->names[i].size);
        if (text == NULL)
            return -1;
        table->hashes[i] = PyObject_Hash(text);
        table->texts[i] = text; /* kept for the life of the process */
        if (table->hashes[i] == -1)
            return -1;
        size_t h = (size_t)table->hashes[i] % INDEX_SIZE;
        while (table->index[h] >= 0)
            h = (h + 1) % INDEX_SIZE;
        table->index[h] = (signed char)i;
    }
    return 0;
}

static inline int same_text(const char *a, const char *b, Py_ssize_t size)
{
    for (Py_ssize_t i = 0; i < size; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* The position of key among the names, or -1. */
static int name_index(PyObject *key, const Names *table)
{
    Py_ssize_t size;
    const char *text = ascii(key, &size);
    if (text == NULL)
        return -1;
    Py_hash_t hash = ((PyASCIIObject *)key)->hash;
    if (hash == -1 && (hash = PyObject_Hash(key)) == -1) {
        PyErr_Clear(); /* cannot happen for a str */
        return -1;
    }
    for (size_t h = (size_t)hash % INDEX_SIZE;; h = (h + 1) % INDEX_SIZE) {
        int i = table->index[h];
        if (i < 0)
            return -1;
        if (table->hashes[i] == hash && table->names[i].size == size
            && same_text(table->names[i].text, text, size))
            return i;
    }
}

static inline int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static inline char lower(char c) { return is_upper(c) ? (char)(c - 'A' + 'a') : c; }

/* The position of a word of a closed vocabulary among its names, in any case ("Mobile" is
 * "mobile": such values are read case-insensitively), or -1. */
static int word_index(PyObject *value, const Names *table)
{
    int found = name_index(value, table);
    Py_ssize_t size;
    const char *text = found >= 0 ? NULL : ascii(value, &size);
    for (int i = 0; text != NULL && i < table->count; i++) {
        if (table->names[i].size != size)
            continue;
        Py_ssize_t k = 0;
        while (k < size && lower(text[k]) == table->names[i].text[k])
            k++;
        if (k == size)
            return i;
    }
    return found;
}

/* Whether an ASCII str has no capital letter. */
static int is_lowercase(PyObject *value)
{
    Py_ssize_t n;
    const char *s = ascii(value, &n);
    for (Py_ssize_t i = 0; s != NULL && i < n; i++)
        if (is_upper(s[i]))
            return 0;
    return s != NULL;
}

/* A checked word (ASCII) in lowercase: a new reference, the word itself when it is already. */
static PyObject *lowercase(PyObject *value)
{
    if (is_lowercase(value))
        return Py_NewRef(value);
    Py_ssize_t n;
    const char *s = ascii(value, &n);
    PyObject *out = PyUnicode_New(n, 127);
    if (out == NULL)
        return NULL;
    char *to = (char *)PyUnicode_DATA(out);
    for (Py_ssize_t i = 0; i < n; i++)
        to[i] = lower(s[i]);
    return out;
}
static int is_word_start(char c) { return (c >= 'a' && c <= 'z') || is_upper(c) || c == '_'; }

/* ^\+[1-9][0-9]{6,14}$ */
static int is_e164(PyObject *value)
{
    Py_ssize_t n;
    const char *s = ascii(value, &n);
    if (s == NULL || n < 8 || n > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9')
        return 0;
    for (Py_ssize_t i = 2; i < n; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

/* ^[A-Za-z_][A-Za-z0-9_-]*$, of ASCII text (NULL: not ASCII) */
static int is_word_text(const char *s, Py_ssize_t n)
{
    if (s == NULL || n < 1 || !is_word_start(s[0]))
        return 0;
    for (Py_ssize_t i = 1; i < n; i++)
        if (!is_word_start(s[i]) && !is_digit(s[i]) && s[i] != '-')
            return 0;
    return 1;
}

static int is_word(PyObject *value)
{
    Py_ssize_t n;
    const char *s = ascii(value, &n);
    return is_word_text(s, n);
}

/* ^[A-Z]{2}(-[A-Z0-9]{1,3})?$ */
static int is_region(PyObject *value)
{
    Py_ssize_t n;
    const char *s = ascii(value, &n);
    if (s == NULL || (n != 2 && (n < 4 || n > 6)) || !is_upper(s[0]) || !is_upper(s[1]))
        return 0;
    if (n == 2)
        return 1;
    if (s[2] != '-')
        return 0;
    for (Py_ssize_t i = 3; i < n; i++)
        if (!is_upper(s[i]) && !is_digit(s[i]))
            return 0;
    return 1;
}

static int is_one_of(PyObject *value, const Names *table)
{
    return word_index(value, table) >= 0;
}

/* ^(\+[1-9][0-9]{6,14}|withheld)$ */
static int is_caller(PyObject *value)
{
    Py_ssize_t n;
    const char *s = ascii(value, &n);
    return is_e164(value) || (s != NULL && n == 8 && same_text(s, "withheld", 8));
}

/* An array of words (consent and opt-out purposes). */
static int is_word_list(PyObject *value)
{
    if (!PyList_CheckExact(value))
        return 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++)
        if (!is_word(PyList_GET_ITEM(value, i)))
            return 0;
    return 1;
}


/* ---- the tables of the schema ------------------------------------------------------------ */

/* How to read one object of the request: its keys (in the schema's order), each key's kind of
 * value (enum Kind), vocabulary (enums), the Call slot that holds it (flat fields, else -1), the
 * position in its vocabulary of the value that means "not known" (else -1), the table of what a
 * structured value holds (an object, an array's items), the kind of a map's values, and the
 * mask of required keys. The tables themselves are generated from schemas/call.schema.json
 * (ringfence/contract/schema.py, run by hatch_build.py). */
typedef struct Spec {
    Names names;
    const unsigned char *kinds;
    Names *const *vocabularies;
    const signed char *slots;
    const signed char *not_known;
    struct Spec *const *children;
    const unsigned char *values;
    unsigned required;
} Spec;

#include "_callreader_tables.h"

#define MAX_KEYS 32
_Static_assert(sizeof(((Spec *)0)->required) * 8 >= MAX_KEYS - 1, "a bit per key");

/* The Call class the reader builds, and the record class of each array of records (by position
 * among the call's keys; NULL: not an array of records), given once by request.py through
 * configure(). */
static PyTypeObject *call_type, *record_type[MAX_KEYS];
/* The class holding a map of dates as the call gives them (request.py's CheckedDates), where
 * its slots lie (_given, the texts; _convert, the function that converts one: this module's
 * date_or_seconds), also given through configure(). */
static PyTypeObject *dates_type;
static Py_ssize_t dates_given_offset, dates_convert_offset;
static PyObject *read_date; /* this module's date_or_seconds */
/* Fixed-offset zones by offset in minutes (+-23:59), made on first use and kept. */
static PyObject *zone_by_minute[2 * 24 * 60];
static PyObject *million; /* 10**6, for timestamps too large to divide exactly as doubles */

/* The slots of a Call (enum Slot, from the tables) are written directly, at offsets read from
 * the class by configure(). */
static Py_ssize_t slot_offset[SLOT_COUNT];
/* What a slot holds when the call does not give the field (as request.py's conversion sets it). */
static PyObject *slot_default[SLOT_COUNT];

/* Stores a new reference (stolen) in one of the call's slots. */
static void set_slot(PyObject *call, int slot, PyObject *value)
{
    PyObject **place = (PyObject **)((char *)call + slot_offset[slot]);
    Py_XSETREF(*place, value);
}

/* ---- instants ----------------------------------------------------------------------------- */

typedef struct {
    int year, month, day, hour, minute, second, microsecond;
    int offset;  /* seconds east of UTC */
    int is_date; /* a bare YYYY-MM-DD */
} Instant;

static inline int digit2(const char *s) { return is_digit(s[0]) && is_digit(s[1]); }
static inline int two(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* Reads ^(19|2\d)\d{2}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$, or
 * with date_allowed also a bare date, and checks that it is in the calendar as Python's
 * datetime.fromisoformat does (which truncates fractions to microseconds). 0 when not sure. */
static int read_instant_text(const char *s, Py_ssize_t n, int date_allowed, Instant *t)
{
    if (s == NULL || n < 10 || !digit2(s) || !digit2(s + 2) || s[4] != '-' || !digit2(s + 5)
        || s[7] != '-' || !digit2(s + 8) || !((s[0] == '1' && s[1] == '9') || s[0] == '2'))
        return 0;
    t->year = two(s) * 100 + two(s + 2);
    t->month = two(s + 5);
    t->day = two(s + 8);
    if (t->month < 1 || t->month > 12 || t->day < 1 || t->day > days_in_month(t->year, t->month))
        return 0;
    t->is_date = n == 10;
    if (t->is_date)
        return date_allowed;
    if (n < 20 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digit2(s + 11)
        || s[13] != ':' || !digit2(s + 14) || s[16] != ':' || !digit2(s + 17))
        return 0;
    t->hour = two(s + 11);
    t->minute = two(s + 14);
    t->second = two(s + 17);
    if (t->hour > 23 || t->minute > 59 || t->second > 59)
        return 0;
    Py_ssize_t i = 19;
    t->microsecond = 0;
    if (s[i] == '.') {
        Py_ssize_t start = ++i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i - start < 1 || i - start > 9)
            return 0;
        for (Py_ssize_t k = start; k < start + 6; k++)
            t->microsecond = t->microsecond * 10 + (k < i ? s[k] - '0' : 0);
    }
    if (i == n - 1 && (s[i] == 'Z' || s[i] == 'z')) {
        t->offset = 0;
        return 1;
    }
    if (i != n - 6 || (s[i] != '+' && s[i] != '-') || !digit2(s + i + 1) || s[i + 3] != ':'
        || !digit2(s + i + 4))
        return 0;
    int hours = two(s + i + 1), minutes = two(s + i + 4);
    if (hours > 23 || minutes > 59)
        return 0;
    t->offset = (s[i] == '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
    return 1;
}

/* read_instant_text of an ASCII str. */
static int read_instant(PyObject *value, int date_allowed, Instant *t)
{
    Py_ssize_t n;
    const char *s = ascii(value, &n);
    return read_instant_text(s, n, date_allowed, t);
}

/* Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int year, int month, int day)
{
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

/* POSIX seconds as a float, equal to datetime.timestamp(): Python divides the exact number of
 * microseconds by 10**6 with correct rounding, which one double division also gives while the
 * microseconds fit in 53 bits (to the year 2255); beyond that, Python's own division. */
static PyObject *timestamp(const Instant *t)
{
    int64_t seconds = days_from_civil(t->year, t->month, t->day) * 86400 + t->hour * 3600
                      + t->minute * 60 + t->second - t->offset;
    int64_t micros = seconds * 1000000 + t->microsecond;
    const int64_t exact = (int64_t)1 << 53;
    if (micros > -exact && micros < exact)
        return PyFloat_FromDouble((double)micros / 1e6);
    PyObject *whole = PyLong_FromLongLong(micros);
    if (whole == NULL)
        return NULL;
    PyObject *result = PyNumber_TrueDivide(whole, million);
    Py_DECREF(whole);
    return result;
}

/* Dates made, by day (a run of DATE_CACHE days has no two in one place), kept for the life of
 * the process: calls give the same few dates over and over (when each list was washed: a dozen
 * a call), and a date is immutable, so one object serves them all. */
#define DATE_CACHE 1024
static PyObject *date_made[DATE_CACHE];
static int64_t date_day[DATE_CACHE];

/* The datetime.date of a bare date. */
static PyObject *date_of(const Instant *t)
{
    int64_t day = days_from_civil(t->year, t->month, t->day);
    size_t place = (size_t)(day % DATE_CACHE + DATE_CACHE) % DATE_CACHE;
    if (date_made[place] != NULL && date_day[place] == day)
        return Py_NewRef(date_made[place]);
    PyObject *date = PyDate_FromDate(t->year, t->month, t->day);
    if (date == NULL)
        return NULL;
    /* the date it replaces, if any, is freed by C alone (a date holds no other object) */
    Py_XSETREF(date_made[place], Py_NewRef(date));
    date_day[place] = day;
    return date;
}

/* The instant's timestamp, or for a bare date a datetime.date (the evaluator places it in the
 * callee's zone, which only it knows). */
static PyObject *date_or_timestamp(const Instant *t)
{
    if (t->is_date)
        return date_of(t);
    return timestamp(t);
}

static PyObject *fixed_zone(int offset)
{
    if (offset == 0)
        return Py_NewRef(PyDateTime_TimeZone_UTC);
    PyObject **slot = &zone_by_minute[offset / 60 + 24 * 60];
    if (*slot == NULL) {
        PyObject *delta = PyDelta_FromDSU(0, offset, 0);
        PyObject *zone = delta == NULL ? NULL : PyTimeZone_FromOffset(delta);
        Py_XDECREF(delta);
        if (zone == NULL)
            return NULL;
        /* An allocation may run the collector and let another thread fill the slot first. */
        if (*slot == NULL)
            *slot = zone;
        else
            Py_DECREF(zone);
    }
    return Py_NewRef(*slot);
}

/* The aware datetime datetime.fromisoformat gives. */
static PyObject *aware_datetime(const Instant *t)
{
    PyObject *zone = fixed_zone(t->offset);
    if (zone == NULL)
        return NULL;
    PyObject *result = PyDateTimeAPI->DateTime_FromDateAndTime(
        t->year, t->month, t->day, t->hour, t->minute, t->second, t->microsecond, zone,
        PyDateTimeAPI->DateTimeType);
    Py_DECREF(zone);
    return result;
}


/* ---- reading an object by its table ----------------------------------------------------- */

/* Whether a value is of the kind the table gives its key; an instant is read into *t. A
 * structured value (array of objects, object, map) is left to its reader when `structured` is
 * set (the call's own keys), else not sure (the tables have no deeper level). */
static int value_ok(const Spec *spec, int key, PyObject *value, int structured, Instant *t)
{
    switch (spec->kinds[key]) {
    case K_ID: return PyUnicode_CheckExact(value) || PyLong_CheckExact(value);
    case K_TEXT: return PyUnicode_CheckExact(value);
    case K_NONEMPTY: return PyUnicode_CheckExact(value) && PyUnicode_GET_LENGTH(value) >= 1;
    case K_E164: return is_e164(value);
    case K_CALLER: return is_caller(value);
    case K_REGION: return is_region(value);
    case K_WORD: return is_word(value);
    case K_ENUM: return is_one_of(value, spec->vocabularies[key]);
    case K_BOOL: return value == Py_True || value == Py_False;
    case K_DICT: return PyDict_CheckExact(value);
    case K_WORDS: case K_TERMS: return is_word_list(value);
    case K_TERM: return is_word(value);
    case K_INSTANT: return read_instant(value, 0, t);
    case K_DATE_OR_INSTANT: return read_instant(value, 1, t);
    case K_ITEMS: case K_OBJECT: case K_MAP: return structured;
    default: return 0; /* K_OTHER: a pattern this reader has no code for */
    }
}

/* Checks an object against its table: given[key] is each value given (borrowed; NULL when not
 * given) and instants[key] each instant read. */
static int scan(PyObject *object, const Spec *spec, int structured, PyObject **given,
                Instant *instants)
{
    if (!PyDict_CheckExact(object))
        return UNSURE;
    memset(given, 0, (size_t)spec->names.count * sizeof(*given));
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    unsigned seen = 0;
    while (PyDict_Next(object, &pos, &key, &value)) {
        int which = name_index(key, &spec->names);
        if (which < 0 || !value_ok(spec, which, value, structured, &instants[which]))
            return UNSURE;
        given[which] = value;
        seen |= 1u << which;
    }
    return (seen & spec->required) == spec->required ? OK : UNSURE;
}

/* Whether the call being read gives a word of a vocabulary that is not among the contract's
 * own (a purpose a policy may have declared): the Call's new_words. Set while one call is read
 * (the reader holds the GIL and runs no Python code meanwhile), reset for each. */
static int new_words;

/* A checked word of a vocabulary (a purpose) in lowercase: the table's own text when it is one
 * of the contract's words, in any case; else the word lowered, and the call has a new word. */
static PyObject *term(PyObject *value, const Names *table)
{
    int which = word_index(value, table);
    if (which >= 0)
        return Py_NewRef(table->texts[which]);
    new_words = 1;
    return lowercase(value);
}

/* Checked words of a vocabulary (a list), as a tuple (see term). */
static PyObject *term_tuple(PyObject *words, const Names *table)
{
    Py_ssize_t n = PyList_GET_SIZE(words);
    PyObject *out = PyTuple_New(n);
    for (Py_ssize_t i = 0; out != NULL && i < n; i++) {
        PyObject *word = term(PyList_GET_ITEM(words, i), table);
        if (word == NULL)
            Py_CLEAR(out);
        else
            PyTuple_SET_ITEM(out, i, word);
    }
    return out;
}

/* A checked value as the Call holds it (a new reference, or NULL with an exception): an instant
 * as POSIX seconds, a bare date as a datetime.date (the engine places it in the callee's zone,
 * which only it knows), words as a tuple, a word of a vocabulary in lowercase, the value meaning
 * "not known" as None, else as given; None when not given. */
static PyObject *converted(const Spec *spec, int key, PyObject *value, const Instant *t)
{
    if (value == NULL)
        return Py_NewRef(Py_None);
    switch (spec->kinds[key]) {
    case K_INSTANT: return timestamp(t);
    case K_DATE_OR_INSTANT: return date_or_timestamp(t);
    case K_WORDS: return PyList_AsTuple(value);
    case K_TERMS: return term_tuple(value, spec->vocabularies[key]);
    case K_TERM: return term(value, spec->vocabularies[key]);
    case K_ENUM: {
        const Names *table = spec->vocabularies[key];
        int which = word_index(value, table);
        if (which == spec->not_known[key])
            return Py_NewRef(Py_None);
        return Py_NewRef(which >= 0 ? table->texts[which] : value);
    }
    default: return Py_NewRef(value);
    }
}

/* Whether the words of a prior attempt (its outcome, its purpose) are in lowercase: the rules
 * read attempts from the request as given, so the reference path lowers them in a copy of the
 * request (request.py's _lowered). A purpose that is not the contract's makes a new word. */
static int attempt_in_lowercase(const Spec *spec, PyObject *const *given)
{
    for (int key = 0; key < spec->names.count; key++) {
        PyObject *value = given[key];
        if (value == NULL || (spec->kinds[key] != K_ENUM && spec->kinds[key] != K_TERM)
            || name_index(value, spec->vocabularies[key]) >= 0)
            continue;
        if (spec->kinds[key] == K_ENUM || word_index(value, spec->vocabularies[key]) >= 0
            || !is_lowercase(value))
            return 0;
        new_words = 1;
    }
    return 1;
}

/* ---- the arrays and objects of a call --------------------------------------------------- */

/* An object's values, each into its slot of the call (the members of relationship). */
static int read_members(PyObject *value, const Spec *spec, PyObject *call)
{
    PyObject *given[MAX_KEYS];
    Instant instants[MAX_KEYS];
    int status = scan(value, spec, 0, given, instants);
    for (int key = 0; status == OK && key < spec->names.count; key++) {
        if (given[key] == NULL || spec->slots[key] < 0)
            continue;
        PyObject *out = converted(spec, key, given[key], &instants[key]);
        if (out == NULL)
            return FAILED;
        set_slot(call, spec->slots[key], out);
    }
    return status;
}

/* An array of objects as a tuple of records of `type`, one field per key of the table in its
 * order (configure() checks the record classes' fields). */
static int read_records(PyObject *value, const Spec *spec, PyTypeObject *type, PyObject **out)
{
    if (!PyList_CheckExact(value))
        return UNSURE;
    Py_ssize_t n = PyList_GET_SIZE(value);
    PyObject *result = PyTuple_New(n);
    if (result == NULL)
        return FAILED;
    int count = spec->names.count;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *given[MAX_KEYS];
        Instant instants[MAX_KEYS];
        int status = scan(PyList_GET_ITEM(value, i), spec, 0, given, instants);
        PyObject *record = status == OK ? type->tp_alloc(type, count) : NULL;
        if (status == OK && record == NULL)
            status = FAILED;
        for (int key = 0; status == OK && key < count; key++) {
            PyObject *field = converted(spec, key, given[key], &instants[key]);
            if (field == NULL)
                status = FAILED;
            else
                PyTuple_SET_ITEM(record, key, field);
        }
        if (status != OK) {
            Py_XDECREF(record);
            Py_DECREF(result);
            return status;
        }
        PyTuple_SET_ITEM(result, i, record);
    }
    *out = result;
    return OK;
}

/* Prior attempts: the instant of each (the rest is read from the items as given, when a rule
 * asks: see Call.history). */
static int read_history(PyObject *value, const Spec *spec, PyObject **out)
{
    if (!PyList_CheckExact(value))
        return UNSURE;
    Py_ssize_t n = PyList_GET_SIZE(value);
    PyObject *result = PyTuple_New(n);
    if (result == NULL)
        return FAILED;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *given[MAX_KEYS];
        Instant instants[MAX_KEYS];
        int status = scan(PyList_GET_ITEM(value, i), spec, 0, given, instants);
        if (status == OK && !attempt_in_lowercase(spec, given))
            status = UNSURE;
        PyObject *at = status == OK ? timestamp(&instants[HISTORY_AT]) : NULL;
        if (status == OK && at == NULL)
            status = FAILED;
        if (status != OK) {
            Py_DECREF(result);
            return status;
        }
        PyTuple_SET_ITEM(result, i, at);
    }
    *out = result;
    return OK;
}

/* The lists a call says the number is on: {name: listing time or date, or None}. The same list
 * twice: an unknown listing date wins (it reads as "listed long ago"), else the first given. */
static int read_lists(PyObject *value, const Spec *spec, PyObject **out)
{
    if (!PyList_CheckExact(value))
        return UNSURE;
    PyObject *result = PyDict_New();
    if (result == NULL)
        return FAILED;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
        PyObject *given[MAX_KEYS];
        Instant instants[MAX_KEYS];
        int status = scan(PyList_GET_ITEM(value, i), spec, 0, given, instants);
        PyObject *listed = NULL;
        if (status == OK) {
            listed = converted(spec, LISTS_LISTED_AT, given[LISTS_LISTED_AT],
                               &instants[LISTS_LISTED_AT]);
            if (listed == NULL)
                status = FAILED;
        }
        if (status == OK) {
            int known = PyDict_Contains(result, given[LISTS_NAME]);
            if (known < 0 || ((!known || listed == Py_None)
                              && PyDict_SetItem(result, given[LISTS_NAME], listed) < 0))
                status = FAILED;
        }
        Py_XDECREF(listed);
        if (status != OK) {
            Py_DECREF(result);
            return status;
        }
    }
    *out = result;
    return OK;
}

/* A CheckedDates holding `given` (a new reference, stolen), its values checked already. */
static int checked_dates(PyObject *given, PyObject **out)
{
    PyObject *dates = dates_type->tp_alloc(dates_type, 0);
    if (dates == NULL) {
        Py_DECREF(given);
        return FAILED;
    }
    *(PyObject **)((char *)dates + dates_given_offset) = given;
    *(PyObject **)((char *)dates + dates_convert_offset) = Py_NewRef(read_date);
    *out = dates;
    return OK;
}

/* A map from words to instants or dates (when each list was washed: {name: date or instant}),
 * checked here and kept as given, in a CheckedDates that converts a value when it is read
 * (date_or_seconds): a call gives a dozen, of which its policies read one or two, and
 * converting them all cost a third of reading the call. */
static int read_map(PyObject *value, int kind, PyObject **out)
{
    if (!PyDict_CheckExact(value) || (kind != K_INSTANT && kind != K_DATE_OR_INSTANT))
        return UNSURE;
    PyObject *key, *field;
    Py_ssize_t pos = 0;
    while (PyDict_Next(value, &pos, &key, &field)) {
        Instant t;
        if (!is_word(key) || !read_instant(field, kind == K_DATE_OR_INSTANT, &t))
            return UNSURE;
    }
    return checked_dates(Py_NewRef(value), out);
}

/* ---- the call ------------------------------------------------------------------------------ */

/* Converts one of the call's structured fields and sets it on the call. */
static int structured_field(int key, PyObject *value, PyObject *call)
{
    const Spec *inner = CALL_SPEC.children[key];
    PyObject *out = NULL;
    if (CALL_SPEC.kinds[key] == K_OBJECT)
        return read_members(value, inner, call);
    int slot = CALL_SPEC.slots[key], status;
    if (record_type[key] != NULL) {
        status = read_records(value, inner, record_type[key], &out);
    } else if (key == CALL_HISTORY) {
        status = read_history(value, inner, &out);
        if (status == OK)
            set_slot(call, S_HISTORY_ITEMS, Py_NewRef(value));
        slot = S_HISTORY_AT;
    } else if (key == CALL_LISTS && slot >= 0) {
        status = read_lists(value, inner, &out);
    } else if (CALL_SPEC.kinds[key] == K_MAP && slot >= 0) {
        status = read_map(value, CALL_SPEC.values[key], &out);
    } else {
        return UNSURE; /* a field this reader has no code for */
    }
    if (status == OK)
        set_slot(call, slot, out);
    return status;
}

/* The call's own instant, into its two slots (at, at_ts). */
static int set_at(PyObject *call, const Instant *t)
{
    PyObject *when = aware_datetime(t);
    PyObject *seconds = when == NULL ? NULL : timestamp(t);
    set_slot(call, S_AT, when);
    set_slot(call, S_AT_TS, seconds);
    return when != NULL && seconds != NULL ? OK : FAILED;
}

/* The call read (status OK: its last slots filled), or None (UNSURE), or NULL (FAILED). */
static PyObject *finished(PyObject *call, int status)
{
    if (status == OK) {
        set_slot(call, S_NEW_WORDS, Py_NewRef(new_words ? Py_True : Py_False));
        /* what the call does not give (a new call's slots start NULL) */
        for (int slot = 0; slot < SLOT_COUNT; slot++) {
            PyObject **place = (PyObject **)((char *)call + slot_offset[slot]);
            if (*place == NULL)
                *place = Py_NewRef(slot_default[slot]);
        }
        return call;
    }
    Py_DECREF(call);
    if (status == FAILED)
        return NULL;
    Py_RETURN_NONE;
}

/* Reads the call. The pointers it keeps into the request are borrowed: that is safe only while
 * no Python code runs, which read_call (below) ensures. */
static PyObject *read_unguarded(PyObject *raw)
{
    PyObject *given[MAX_KEYS];
    Instant instants[MAX_KEYS];
    if (scan(raw, &CALL_SPEC, 1, given, instants) != OK)
        Py_RETURN_NONE;
    new_words = 0;
    PyObject *call = call_type->tp_alloc(call_type, 0);
    if (call == NULL)
        return NULL;
    set_slot(call, S_RAW, Py_NewRef(raw));
    int status = set_at(call, &instants[CALL_AT]);
    for (int key = 0; key < CALL_KEY_COUNT && status == OK; key++) {
        PyObject *value = given[key];
        if (value == NULL)
            continue;
        if (CALL_SPEC.children[key] != NULL || CALL_SPEC.kinds[key] == K_MAP) {
            status = structured_field(key, value, call);
        } else if (CALL_SPEC.slots[key] >= 0) {
            PyObject *out = converted(&CALL_SPEC, key, value, &instants[key]);
            if (out == NULL)
                status = FAILED;
            else
                set_slot(call, CALL_SPEC.slots[key], out);
        }
    }
    return finished(call, status);
}

/* ---- a call read from its line of JSON ---------------------------------------------------- */

/* read_line(line) reads a call from the bytes of its line of JSON straight into a Call, with no
 * dict of the request between: the dicts and strings of a whole request cost more to make and
 * free than everything else reading does, and the judge reads a few of them (a policy reads one
 * or two of the dozen dates of lists_checked_at). What the Call holds is made as the dict reader
 * makes it, by the same code, from the values of the line; what it does not hold stays bytes:
 * lists_checked_at (a LineDates: its texts are made when read) and the request itself (a
 * LineRequest: its id and meta made, as every decision writes them; the whole dict when anything
 * else is read).
 *
 * It reads only a strict subset of JSON that every JSON reader reads alike: strings of
 * printable ASCII without escapes, integers of at most 18 digits (no fraction, no exponent, no
 * -0), true, false, null, objects without a key given twice, nesting no deeper than MAX_DEPTH.
 * Anything else (and whatever the dict reader would not be sure of) makes it answer None: the
 * line is then read as ever (orjson, the dict reader or the reference path), which also words
 * the errors. tests/test_core_linereader.py checks on generated and odd lines that it gives
 * exactly the Call of the line's dict, or None. */

#define MAX_DEPTH 64
#define MAX_INTEGER_DIGITS 18 /* below 2**63: any JSON reader reads them as the same int */
#define MAX_DATES 64

typedef struct {
    const char *at, *end;
} Cursor;

static inline void skip_space(Cursor *c)
{
    while (c->at < c->end && (*c->at == ' ' || *c->at == '\n' || *c->at == '\r' || *c->at == '\t'))
        c->at++;
}

/* Whether the next character (after JSON whitespace) is `expected`; it is taken if so. */
static inline int take(Cursor *c, char expected)
{
    skip_space(c);
    if (c->at < c->end && *c->at == expected) {
        c->at++;
        return 1;
    }
    return 0;
}

/* The bytes a string read here may hold as they are: printable ASCII (and DEL) but the quote
 * and the backslash; filled at import. */
static unsigned char plain[256];

static void fill_plain(void)
{
    for (int ch = 0x20; ch < 0x80; ch++)
        plain[ch] = ch != '"' && ch != '\\';
}

/* A string of printable ASCII (and DEL) without escapes: where its text starts, its size. The
 * bytes of a line end with a NUL (as every bytes object's do), which is not plain: the loop
 * needs no other bound. */
static int string_text(Cursor *c, const char **text, Py_ssize_t *size)
{
    if (!take(c, '"'))
        return 0;
    const char *start = c->at, *at = start;
    while (plain[(unsigned char)*at])
        at++;
    c->at = at;
    if (at >= c->end || *at != '"')
        return 0;
    *text = start;
    *size = c->at - start;
    c->at++;
    return 1;
}

static PyObject *ascii_text(const char *s, Py_ssize_t n)
{
    PyObject *out = PyUnicode_New(n, 127);
    if (out != NULL)
        memcpy(PyUnicode_DATA(out), s, (size_t)n);
    return out;
}

/* The position of a name given as text among the names of a table, or -1. */
static int name_at(const char *text, Py_ssize_t size, const Names *table)
{
    for (int i = 0; i < table->count; i++)
        if (table->names[i].size == size && same_text(table->names[i].text, text, size))
            return i;
    return -1;
}

/* name_at, looking first from `from` on: the fields of a call come in much the same order
 * line after line, so the next is mostly found at once. */
static int name_from(const char *text, Py_ssize_t size, const Names *table, int from)
{
    for (int k = 0; k < table->count; k++) {
        int i = (from + k) % table->count;
        if (table->names[i].size == size && same_text(table->names[i].text, text, size))
            return i;
    }
    return -1;
}

/* A word of a vocabulary given exactly as the vocabulary writes it: the vocabulary's own str
 * (no new one), the cursor past it; NULL (the cursor not moved) for any other value. */
static PyObject *known_word(Cursor *c, const Names *vocabulary)
{
    Cursor peek = *c;
    const char *text;
    Py_ssize_t size;
    int which = vocabulary != NULL && string_text(&peek, &text, &size)
                ? name_at(text, size, vocabulary) : -1;
    if (which < 0)
        return NULL;
    *c = peek;
    return vocabulary->texts[which];
}

static PyObject *unsure(int *status)
{
    *status = UNSURE;
    return NULL;
}

static PyObject *integer(Cursor *c, int *status)
{
    const char *digits = c->at + (*c->at == '-'), *end = digits;
    while (end < c->end && is_digit(*end))
        end++;
    Py_ssize_t n = end - digits;
    if (n < 1 || n > MAX_INTEGER_DIGITS || (*digits == '0' && (n > 1 || digits != c->at))
        || (end < c->end && (*end == '.' || *end == 'e' || *end == 'E')))
        return unsure(status);
    long long value = 0;
    for (const char *p = digits; p < end; p++)
        value = value * 10 + (*p - '0');
    PyObject *out = PyLong_FromLongLong(digits == c->at ? value : -value);
    c->at = end;
    if (out == NULL)
        *status = FAILED;
    return out;
}

static PyObject *literal(Cursor *c, const char *word, PyObject *value, int *status)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->at) < n || memcmp(c->at, word, n) != 0)
        return unsure(status);
    c->at += n;
    return Py_NewRef(value);
}

static PyObject *value_of(Cursor *c, int depth, const Spec *spec, int *status);

/* One member of an object (key: value) into `out`: OK, UNSURE or FAILED. Read by the object's
 * table if it has one: its keys the table's own strs when they are its names, so are the words
 * of their vocabularies. */
static int add_member(Cursor *c, int depth, const Spec *spec, PyObject *out)
{
    const char *text;
    Py_ssize_t size;
    if (!string_text(c, &text, &size) || !take(c, ':'))
        return UNSURE;
    int known = spec == NULL ? -1 : name_at(text, size, &spec->names), status = OK;
    PyObject *key = known >= 0 ? Py_NewRef(spec->names.texts[known]) : ascii_text(text, size);
    if (key == NULL)
        return FAILED;
    PyObject *word = known < 0 ? NULL : known_word(c, spec->vocabularies[known]);
    PyObject *value = word != NULL ? Py_NewRef(word) : value_of(c, depth, NULL, &status);
    Py_ssize_t before = PyDict_GET_SIZE(out);
    if (value != NULL && PyDict_SetItem(out, key, value) < 0)
        status = FAILED;
    else if (value != NULL && PyDict_GET_SIZE(out) == before)
        status = UNSURE; /* a key given twice */
    Py_DECREF(key);
    Py_XDECREF(value);
    return status;
}

/* One item of an array into `out` (`spec`: the table of the items, if they are objects). */
static int add_item(Cursor *c, int depth, const Spec *spec, PyObject *out)
{
    int status = OK;
    PyObject *item = value_of(c, depth, spec, &status);
    if (item != NULL && PyList_Append(out, item) < 0)
        status = FAILED;
    Py_XDECREF(item);
    return status;
}

/* An object or array (its opening taken) up to `close` ("}" or "]"). */
static PyObject *container_of(Cursor *c, int depth, const Spec *spec, char close, int *status)
{
    PyObject *out = close == '}' ? PyDict_New() : PyList_New(0);
    int result = out == NULL ? FAILED : OK;
    if (result == OK && !take(c, close)) {
        do
            result = close == '}' ? add_member(c, depth, spec, out) : add_item(c, depth, spec, out);
        while (result == OK && take(c, ','));
        if (result == OK && !take(c, close))
            result = UNSURE;
    }
    if (result == OK)
        return out;
    Py_XDECREF(out);
    *status = result;
    return NULL;
}

/* The next JSON value as Python holds it (a new reference); NULL with *status UNSURE (not of
 * the subset read here) or FAILED (an exception is set). */
static PyObject *value_of(Cursor *c, int depth, const Spec *spec, int *status)
{
    skip_space(c);
    if (c->at >= c->end || depth >= MAX_DEPTH)
        return unsure(status);
    switch (*c->at) {
    case '{':
    case '[':
        c->at++;
        return container_of(c, depth + 1, spec, c->at[-1] == '{' ? '}' : ']', status);
    case '"': {
        const char *text;
        Py_ssize_t size;
        if (!string_text(c, &text, &size))
            return unsure(status);
        PyObject *out = ascii_text(text, size);
        if (out == NULL)
            *status = FAILED;
        return out;
    }
    case 't': return literal(c, "true", Py_True, status);
    case 'f': return literal(c, "false", Py_False, status);
    case 'n': return literal(c, "null", Py_None, status);
    default: return integer(c, status);
    }
}

/* A map of dates kept as the bytes of its line (lists_checked_at): each name and text found
 * by its place in the line, made as a str when it is read. Its values are checked when the
 * line is read, as the dict reader checks them (read_map). */
typedef struct {
    Py_ssize_t name, name_size, text, text_size; /* places in the line */
} Entry;

typedef struct {
    PyObject_VAR_HEAD
    PyObject *data; /* bytes: the line, or the block of lines it is in */
    Entry entries[1];
} LineDates;

static PyTypeObject LineDatesType;

static Py_ssize_t dates_find(LineDates *self, PyObject *name)
{
    Py_ssize_t size;
    const char *text = PyUnicode_Check(name) && PyUnicode_IS_ASCII(name)
                       ? (const char *)PyUnicode_DATA(name) : NULL;
    if (text == NULL)
        return -1; /* the names are words: ASCII */
    size = PyUnicode_GET_LENGTH(name);
    const char *line = PyBytes_AS_STRING(self->data);
    for (Py_ssize_t i = 0; i < Py_SIZE(self); i++)
        if (self->entries[i].name_size == size
            && same_text(line + self->entries[i].name, text, size))
            return i;
    return -1;
}

static PyObject *dates_text(LineDates *self, Py_ssize_t i, int name)
{
    const Entry *e = &self->entries[i];
    const char *line = PyBytes_AS_STRING(self->data);
    return name ? ascii_text(line + e->name, e->name_size) : ascii_text(line + e->text, e->text_size);
}

static Py_ssize_t dates_length(PyObject *self) { return Py_SIZE(self); }

static PyObject *dates_subscript(PyObject *self, PyObject *name)
{
    Py_ssize_t i = dates_find((LineDates *)self, name);
    if (i < 0) {
        PyErr_SetObject(PyExc_KeyError, name);
        return NULL;
    }
    return dates_text((LineDates *)self, i, 0);
}

static int dates_contains(PyObject *self, PyObject *name)
{
    return dates_find((LineDates *)self, name) >= 0;
}

/* The names (which = 1) or the (name, text) pairs (2), as a list. */
static PyObject *dates_list(LineDates *self, int which)
{
    PyObject *out = PyList_New(Py_SIZE(self));
    for (Py_ssize_t i = 0; out != NULL && i < Py_SIZE(self); i++) {
        PyObject *item = which == 2 ? Py_BuildValue("(NN)", dates_text(self, i, 1),
                                                   dates_text(self, i, 0))
                                    : dates_text(self, i, which);
        if (item == NULL)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, i, item);
    }
    return out;
}

static PyObject *dates_keys(PyObject *self, PyObject *unused)
{
    (void)unused;
    return dates_list((LineDates *)self, 1);
}

static PyObject *dates_iter(PyObject *self)
{
    PyObject *names = dates_list((LineDates *)self, 1);
    PyObject *out = names == NULL ? NULL : PyObject_GetIter(names);
    Py_XDECREF(names);
    return out;
}

static PyObject *dates_get(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "get(name, default=None)");
        return NULL;
    }
    Py_ssize_t i = dates_find((LineDates *)self, args[0]);
    return i >= 0 ? dates_text((LineDates *)self, i, 0) : Py_NewRef(nargs == 2 ? args[1] : Py_None);
}

static PyObject *dates_repr(PyObject *self)
{
    PyObject *pairs = dates_list((LineDates *)self, 2);
    PyObject *as_dict = pairs == NULL ? NULL : PyDict_New();
    if (as_dict != NULL && PyDict_MergeFromSeq2(as_dict, pairs, 1) < 0)
        Py_CLEAR(as_dict);
    Py_XDECREF(pairs);
    PyObject *out = as_dict == NULL ? NULL : PyObject_Repr(as_dict);
    Py_XDECREF(as_dict);
    return out;
}

static void dates_dealloc(PyObject *self)
{
    Py_XDECREF(((LineDates *)self)->data);
    Py_TYPE(self)->tp_free(self);
}

static PyMappingMethods dates_mapping = {.mp_length = dates_length,
                                         .mp_subscript = dates_subscript};
static PySequenceMethods dates_sequence = {.sq_contains = dates_contains};
static PyMethodDef dates_methods[] = {
    {"get", (PyCFunction)(void (*)(void))dates_get, METH_FASTCALL, "get(name, default=None)"},
    {"keys", dates_keys, METH_NOARGS, "The names, as a list (what dict() reads)."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject LineDatesType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ringfence.contract._callreader.LineDates",
    .tp_basicsize = offsetof(LineDates, entries),
    .tp_itemsize = sizeof(Entry),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "lists_checked_at as its line gives it: name -> text, made when read.",
    .tp_dealloc = dates_dealloc,
    .tp_repr = dates_repr,
    .tp_as_mapping = &dates_mapping,
    .tp_as_sequence = &dates_sequence,
    .tp_iter = dates_iter,
    .tp_methods = dates_methods,
};

/* A map of dates (its values checked as read_map checks them) into a LineDates over `data`,
 * the bytes the cursor is in. */
static int dates_of(Cursor *c, PyObject *data, int date_allowed, PyObject **out)
{
    Entry found[MAX_DATES];
    uint64_t names_seen = 0; /* a bit per (size, first and last letter) of the names found */
    Py_ssize_t count = 0;
    const char *base = PyBytes_AS_STRING(data);
    if (!take(c, '{'))
        return UNSURE;
    if (!take(c, '}')) {
        do {
            const char *name, *text;
            Py_ssize_t size, length;
            Instant t;
            if (count == MAX_DATES || !string_text(c, &name, &size) || !is_word_text(name, size)
                || !take(c, ':') || !string_text(c, &text, &length)
                || !read_instant_text(text, length, date_allowed, &t))
                return UNSURE;
            uint64_t bit = (uint64_t)1 << ((size * 7 + name[0] * 3 + name[size - 1]) & 63);
            for (Py_ssize_t i = 0; (names_seen & bit) && i < count; i++)
                if (found[i].name_size == size && same_text(base + found[i].name, name, size))
                    return UNSURE; /* a name given twice */
            names_seen |= bit;
            found[count++] = (Entry){name - base, size, text - base, length};
        } while (take(c, ','));
        if (!take(c, '}'))
            return UNSURE;
    }
    LineDates *dates = PyObject_NewVar(LineDates, &LineDatesType, count);
    if (dates == NULL)
        return FAILED;
    dates->data = Py_NewRef(data);
    memcpy(dates->entries, found, (size_t)count * sizeof(Entry));
    *out = (PyObject *)dates;
    return OK;
}

/* The request a call was read from, as its line: its id and meta made (every decision writes
 * them), the whole dict (by the `loads` configure_lines gives: orjson's) when anything else is
 * read. A read-only mapping; nothing may change the line's dict once read. */
typedef struct {
    PyObject_HEAD
    PyObject *data;  /* bytes: the line, or the block of lines it is in */
    Py_ssize_t start, size; /* where the line is in data */
    PyObject *id;    /* NULL: not given */
    PyObject *meta;  /* NULL: not given */
    PyObject *given; /* the dict, once read */
} LineRequest;

static PyTypeObject LineRequestType;
static PyObject *loads; /* orjson.loads, given by configure_lines */

static PyObject *request_dict(LineRequest *self)
{
    if (self->given == NULL) {
        PyObject *line = self->start == 0 && self->size == PyBytes_GET_SIZE(self->data)
                         ? Py_NewRef(self->data)
                         : PyBytes_FromStringAndSize(PyBytes_AS_STRING(self->data) + self->start,
                                                     self->size);
        PyObject *given = line == NULL ? NULL : PyObject_CallOneArg(loads, line);
        Py_XDECREF(line);
        if (given != NULL && !PyDict_CheckExact(given)) {
            Py_DECREF(given);
            PyErr_SetString(PyExc_TypeError, "the line of a request is no JSON object");
            return NULL;
        }
        if (given == NULL)
            return NULL;
        if (self->given == NULL)
            self->given = given;
        else
            Py_DECREF(given);
    }
    return self->given;
}

static PyObject *request_get(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    LineRequest *request = (LineRequest *)self;
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "get(key, default=None)");
        return NULL;
    }
    PyObject *fallback = nargs == 2 ? args[1] : Py_None, *found;
    Py_ssize_t n;
    const char *s = request->given == NULL ? ascii(args[0], &n) : NULL;
    if (s != NULL && n == 2 && same_text(s, "id", 2))
        found = request->id;
    else if (s != NULL && n == 4 && same_text(s, "meta", 4))
        found = request->meta;
    else {
        PyObject *given = request_dict(request);
        if (given == NULL)
            return NULL;
        found = PyDict_GetItemWithError(given, args[0]);
        if (found == NULL && PyErr_Occurred())
            return NULL;
    }
    return Py_NewRef(found != NULL ? found : fallback);
}

static Py_ssize_t request_length(PyObject *self)
{
    PyObject *given = request_dict((LineRequest *)self);
    return given == NULL ? -1 : PyDict_GET_SIZE(given);
}

static PyObject *request_subscript(PyObject *self, PyObject *key)
{
    PyObject *given = request_dict((LineRequest *)self);
    return given == NULL ? NULL : PyObject_GetItem(given, key);
}

static int request_contains(PyObject *self, PyObject *key)
{
    PyObject *given = request_dict((LineRequest *)self);
    return given == NULL ? -1 : PyDict_Contains(given, key);
}

static PyObject *request_iter(PyObject *self)
{
    PyObject *given = request_dict((LineRequest *)self);
    return given == NULL ? NULL : PyObject_GetIter(given);
}

/* Its keys, values, items and copy: the dict's own, of the dict. Methods of the type, not
 * attributes its own getattr makes: with the generic getattr, `raw.get(...)` (twice for every
 * decision: its id and meta) is looked up once per place in the code, not bound for each call. */
static PyObject *dict_method_names[4]; /* "keys", "values", "items", "copy" */

static PyObject *by_dict(PyObject *self, int which)
{
    PyObject *given = request_dict((LineRequest *)self);
    return given == NULL ? NULL : PyObject_CallMethodNoArgs(given, dict_method_names[which]);
}

#define BY_DICT(method, which)                                                                  \
    static PyObject *method(PyObject *self, PyObject *unused)                                   \
    {                                                                                           \
        (void)unused;                                                                           \
        return by_dict(self, which);                                                            \
    }
BY_DICT(request_keys, 0)
BY_DICT(request_values, 1)
BY_DICT(request_items, 2)
BY_DICT(request_copy, 3)

static PyObject *request_compare(PyObject *self, PyObject *other, int op)
{
    if (Py_TYPE(other) == &LineRequestType && (other = request_dict((LineRequest *)other)) == NULL)
        return NULL;
    PyObject *given = request_dict((LineRequest *)self);
    return given == NULL ? NULL : PyObject_RichCompare(given, other, op);
}

static PyObject *request_repr(PyObject *self)
{
    PyObject *given = request_dict((LineRequest *)self);
    return given == NULL ? NULL : PyObject_Repr(given);
}

/* What a request holds that may come to hold it in turn (its meta can be changed): for the
 * collector. */
#define REQUEST_HELD(request) {&(request)->id, &(request)->meta, &(request)->given}

static int request_traverse(PyObject *self, visitproc visit, void *arg)
{
    PyObject **held[] = REQUEST_HELD((LineRequest *)self);
    for (size_t i = 0; i < sizeof(held) / sizeof(*held); i++)
        Py_VISIT(*held[i]);
    return 0;
}

static int request_clear(PyObject *self)
{
    PyObject **held[] = REQUEST_HELD((LineRequest *)self);
    for (size_t i = 0; i < sizeof(held) / sizeof(*held); i++)
        Py_CLEAR(*held[i]);
    return 0;
}

static void request_dealloc(PyObject *self)
{
    PyObject_GC_UnTrack(self);
    request_clear(self);
    Py_CLEAR(((LineRequest *)self)->data);
    PyObject_GC_Del(self);
}

static PyMappingMethods request_mapping = {request_length, request_subscript, NULL};
static PySequenceMethods request_sequence = {.sq_contains = request_contains};
static PyMethodDef request_methods[] = {
    {"get", (PyCFunction)(void (*)(void))request_get, METH_FASTCALL, "get(key, default=None)"},
    {"keys", request_keys, METH_NOARGS, "The dict's keys()."},
    {"values", request_values, METH_NOARGS, "The dict's values()."},
    {"items", request_items, METH_NOARGS, "The dict's items()."},
    {"copy", request_copy, METH_NOARGS, "The dict's copy()."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject LineRequestType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ringfence.contract._callreader.LineRequest",
    .tp_basicsize = sizeof(LineRequest),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The request a call was read from, as its line of JSON (read-only mapping).",
    .tp_dealloc = request_dealloc,
    .tp_traverse = request_traverse,
    .tp_clear = request_clear,
    .tp_richcompare = request_compare,
    .tp_repr = request_repr,
    .tp_as_mapping = &request_mapping,
    .tp_as_sequence = &request_sequence,
    .tp_iter = request_iter,
    .tp_methods = request_methods,
    .tp_hash = PyObject_HashNotImplemented,
};

/* One field of the call from its line, into the call's slots (id and meta into the request). */
static int line_field(Cursor *c, PyObject *data, int key, PyObject *call, LineRequest *raw,
                      Instant *at)
{
    int kind = CALL_SPEC.kinds[key], slot = CALL_SPEC.slots[key];
    if (kind == K_MAP) {
        int values = CALL_SPEC.values[key];
        PyObject *given, *out;
        if (slot < 0 || (values != K_INSTANT && values != K_DATE_OR_INSTANT))
            return UNSURE;
        int status = dates_of(c, data, values == K_DATE_OR_INSTANT, &given);
        if (status == OK && (status = checked_dates(given, &out)) == OK)
            set_slot(call, slot, out);
        return status;
    }
    if ((kind == K_ENUM || kind == K_TERM) && slot >= 0) {
        /* a word as its vocabulary writes it: what `converted` gives, without a new str */
        PyObject *word = known_word(c, CALL_SPEC.vocabularies[key]);
        if (word != NULL) {
            int unknown = CALL_SPEC.not_known[key];
            int not_known = kind == K_ENUM && unknown >= 0
                            && word == CALL_SPEC.vocabularies[key]->texts[unknown];
            set_slot(call, slot, Py_NewRef(not_known ? Py_None : word));
            return OK;
        }
    }
    const Spec *inner = CALL_SPEC.children[key];
    int status = OK;
    PyObject *value = value_of(c, 0, inner, &status);
    if (value == NULL)
        return status;
    Instant t;
    if (inner != NULL) {
        status = structured_field(key, value, call);
    } else if (!value_ok(&CALL_SPEC, key, value, 0, &t)) {
        status = UNSURE;
    } else if (key == CALL_AT) {
        *at = t;
    } else if (key == CALL_ID) {
        raw->id = Py_NewRef(value);
    } else if (key == CALL_META) {
        raw->meta = Py_NewRef(value);
    } else if (slot >= 0) {
        PyObject *out = converted(&CALL_SPEC, key, value, &t);
        if (out == NULL)
            status = FAILED;
        else
            set_slot(call, slot, out);
    }
    Py_DECREF(value);
    return status;
}

/* The call of the line data[start:end], or None, or NULL (see read_line). */
static PyObject *read_span(PyObject *data, Py_ssize_t start, Py_ssize_t end)
{
    Cursor c = {PyBytes_AS_STRING(data) + start, PyBytes_AS_STRING(data) + end};
    if (!take(&c, '{'))
        Py_RETURN_NONE;
    new_words = 0;
    PyObject *call = call_type->tp_alloc(call_type, 0);
    if (call == NULL)
        return NULL;
    LineRequest *raw = PyObject_GC_New(LineRequest, &LineRequestType);
    if (raw == NULL) {
        Py_DECREF(call);
        return NULL;
    }
    raw->data = Py_NewRef(data);
    raw->start = start;
    raw->size = end - start;
    raw->id = raw->meta = raw->given = NULL;
    PyObject_GC_Track(raw);
    set_slot(call, S_RAW, (PyObject *)raw);
    Instant at;
    unsigned seen = 0;
    int status = OK, key = -1;
    do {
        const char *name;
        Py_ssize_t size;
        key = string_text(&c, &name, &size) ? name_from(name, size, &CALL_SPEC.names, key + 1) : -1;
        if (key < 0 || (seen >> key & 1u) || !take(&c, ':'))
            status = UNSURE; /* not a field of the contract, or one given twice */
        else
            status = line_field(&c, data, key, call, raw, &at);
        seen |= key >= 0 ? 1u << key : 0;
    } while (status == OK && take(&c, ','));
    if (status == OK && take(&c, '}')) {
        skip_space(&c);
        if (c.at != c.end || (seen & CALL_SPEC.required) != CALL_SPEC.required)
            status = UNSURE;
        else
            status = set_at(call, &at);
    } else if (status == OK) {
        status = UNSURE;
    }
    return finished(call, status);
}

static int reader_ready(void)
{
    if (call_type == NULL || loads == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the line reader is not configured");
        return 0;
    }
    return 1;
}

static PyObject *read_line(PyObject *module, PyObject *line)
{
    (void)module;
    if (!reader_ready())
        return NULL;
    if (!PyBytes_CheckExact(line)) {
        PyErr_SetString(PyExc_TypeError, "read_line(line: bytes)");
        return NULL;
    }
    /* No Python code may run while a call is read (see read_call): new_words is shared. */
    int collecting = PyGC_Disable();
    PyObject *result = read_span(line, 0, PyBytes_GET_SIZE(line));
    if (collecting)
        PyGC_Enable();
    return result;
}

/* Whether data[start:end] is blank: JSON whitespace alone (a line holds no line break). */
static int blank(const char *s, Py_ssize_t start, Py_ssize_t end)
{
    for (Py_ssize_t i = start; i < end; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

/* (number, Call or the line's bytes) of each line data[start:end] that is not blank, added
 * to `found`; the positions of the lines' bytes in it to `others`. */
static int read_each(PyObject *data, Py_ssize_t number, PyObject *found, PyObject *others)
{
    const char *s = PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    for (Py_ssize_t start = 0; start <= n; number++) {
        const char *stop = memchr(s + start, '\n', (size_t)(n - start));
        Py_ssize_t end = stop == NULL ? n : stop - s;
        if (!blank(s, start, end)) {
            PyObject *item = read_span(data, start, end), *position = NULL;
            if (item == Py_None) {
                Py_DECREF(item);
                item = PyBytes_FromStringAndSize(s + start, end - start);
                position = item == NULL ? NULL : PyLong_FromSsize_t(PyList_GET_SIZE(found));
                if (position == NULL || PyList_Append(others, position) < 0)
                    Py_CLEAR(item);
                Py_XDECREF(position);
            }
            PyObject *pair = item == NULL ? NULL : PyTuple_New(2);
            PyObject *at = pair == NULL ? NULL : PyLong_FromSsize_t(number);
            if (at != NULL) {
                PyTuple_SET_ITEM(pair, 0, at);
                PyTuple_SET_ITEM(pair, 1, item);
            } else {
                Py_XDECREF(item);
            }
            if (at == NULL || PyList_Append(found, pair) < 0) {
                Py_XDECREF(pair);
                return -1;
            }
            Py_DECREF(pair);
        }
        start = end + 1;
    }
    return 0;
}

/* read_lines(data, first): the lines of data as calls_in cuts them (at "\n"; blank ones left
 * out), each read by read_line: ([(number, Call or the line's bytes)], [positions of the lines
 * read_line handed over]), the first line numbered `first`. The Calls' requests and dates keep
 * the block's bytes (one object), not a copy of each line. */
static PyObject *read_lines(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (!reader_ready())
        return NULL;
    if (nargs != 2 || !PyBytes_CheckExact(args[0]) || !PyLong_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "read_lines(data: bytes, first: int)");
        return NULL;
    }
    Py_ssize_t first = PyLong_AsSsize_t(args[1]);
    if (first == -1 && PyErr_Occurred())
        return NULL;
    PyObject *found = PyList_New(0), *others = PyList_New(0);
    int collecting = PyGC_Disable();
    int status = found == NULL || others == NULL ? -1 : read_each(args[0], first, found, others);
    if (collecting)
        PyGC_Enable();
    if (status < 0) {
        Py_XDECREF(found);
        Py_XDECREF(others);
        return NULL;
    }
    return Py_BuildValue("(NN)", found, others);
}

static PyObject *configure_lines(PyObject *module, PyObject *reader)
{
    (void)module;
    if (!PyCallable_Check(reader)) {
        PyErr_SetString(PyExc_TypeError, "configure_lines(loads): loads reads a line's dict");
        return NULL;
    }
    Py_XSETREF(loads, Py_NewRef(reader));
    Py_RETURN_NONE;
}

/* Where each slot of the Call class lies: the offsets its member descriptors give, in `found`
 * (so that a class that does not fit leaves the reader as it was). */
static int find_slot(PyTypeObject *type, const char *name, Py_ssize_t *found)
{
    PyObject *descr = PyObject_GetAttrString((PyObject *)type, name);
    if (descr == NULL)
        return -1;
    int is_slot = Py_IS_TYPE(descr, &PyMemberDescr_Type)
                  && ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX;
    if (is_slot)
        *found = ((PyMemberDescrObject *)descr)->d_member->offset;
    Py_DECREF(descr);
    if (!is_slot)
        PyErr_Format(PyExc_TypeError, "%s.%s must be a slot", type->tp_name, name);
    return is_slot ? 0 : -1;
}

static int find_slots(PyTypeObject *type, Py_ssize_t *found)
{
    for (int slot = 0; slot < SLOT_COUNT; slot++)
        if (find_slot(type, SLOT_NAMES[slot], &found[slot]) < 0)
            return -1;
    return 0;
}

/* Whether a record class is a tuple whose fields are the keys of `spec`, in order. */
static int fits(PyObject *type, const Spec *spec, const char *field)
{
    if (!PyType_Check(type) || !PyType_IsSubtype((PyTypeObject *)type, &PyTuple_Type)) {
        PyErr_Format(PyExc_TypeError, "the records of %s must be tuples", field);
        return -1;
    }
    PyObject *names = PyObject_GetAttrString(type, "_fields");
    if (names == NULL)
        return -1;
    int ok = PyTuple_Check(names) && PyTuple_GET_SIZE(names) == spec->names.count;
    for (int i = 0; ok && i < spec->names.count; i++) {
        Py_ssize_t size;
        const char *text = ascii(PyTuple_GET_ITEM(names, i), &size);
        ok = text != NULL && size == spec->names.names[i].size
             && same_text(text, spec->names.names[i].text, size);
    }
    Py_DECREF(names);
    if (!ok)
        PyErr_Format(PyExc_TypeError, "the fields of the records of %s are not the schema's",
                     field);
    return ok ? 0 : -1;
}

static PyObject *read_call(PyObject *module, PyObject *raw)
{
    (void)module;
    if (call_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the call reader is not configured");
        return NULL;
    }
    /* Reading allocates, and an allocation may start a garbage collection, which can run Python
     * code (gc callbacks, __del__ of garbage) that changes the request under the reader's
     * borrowed pointers. With automatic collection off, no Python code runs until the reader
     * returns: everything it calls is C that calls nothing back, and it holds the GIL. */
    if (Py_TYPE(raw) == call_type) /* read already (from its line: read_line) */
        return Py_NewRef(raw);
    int collecting = PyGC_Disable();
    PyObject *result = read_unguarded(raw);
    if (collecting)
        PyGC_Enable();
    return result;
}

static PyObject *configure(PyObject *module, PyObject *args)
{
    PyObject *call, *records, *defaults, *dates;
    if (!PyArg_ParseTuple(args, "O!O!O!O!:configure", &PyType_Type, &call, &PyDict_Type,
                          &records, &PyDict_Type, &defaults, &PyType_Type, &dates))
        return NULL;
    Py_ssize_t offsets[SLOT_COUNT], given_offset, convert_offset;
    if (find_slots((PyTypeObject *)call, offsets) < 0
        || find_slot((PyTypeObject *)dates, "_given", &given_offset) < 0
        || find_slot((PyTypeObject *)dates, "_convert", &convert_offset) < 0)
        return NULL;
    PyObject *values[SLOT_COUNT], *types[MAX_KEYS] = {NULL};
    for (int slot = 0; slot < SLOT_COUNT; slot++) {
        values[slot] = PyDict_GetItemString(defaults, SLOT_NAMES[slot]);
        if (values[slot] == NULL) {
            PyErr_Format(PyExc_TypeError, "no default for Call.%s", SLOT_NAMES[slot]);
            return NULL;
        }
    }
    for (int key = 0; key < CALL_KEY_COUNT; key++) {
        const char *field = CALL_SPEC.names.names[key].text;
        types[key] = PyDict_GetItemString(records, field);
        if (types[key] != NULL && CALL_SPEC.slots[key] < 0) {
            PyErr_Format(PyExc_TypeError, "a Call has no slot for the records of %s", field);
            return NULL;
        }
        if (types[key] != NULL && fits(types[key], CALL_SPEC.children[key], field) < 0)
            return NULL;
    }
    PyObject *reader = PyObject_GetAttrString(module, "date_or_seconds");
    if (reader == NULL)
        return NULL;
    for (int slot = 0; slot < SLOT_COUNT; slot++)
        Py_XSETREF(slot_default[slot], Py_NewRef(values[slot]));
    for (int key = 0; key < CALL_KEY_COUNT; key++)
        Py_XSETREF(record_type[key], (PyTypeObject *)Py_XNewRef(types[key]));
    memcpy(slot_offset, offsets, sizeof(slot_offset));
    dates_given_offset = given_offset;
    dates_convert_offset = convert_offset;
    Py_XSETREF(read_date, reader);
    Py_XSETREF(dates_type, (PyTypeObject *)Py_NewRef(dates));
    Py_XSETREF(call_type, (PyTypeObject *)Py_NewRef(call));
    Py_RETURN_NONE;
}

/* with_dates(call, lists, lists_checked_at): a new Call holding every slot of `call` (shared)
 * but those two (request.py's Call.in_zone gives them placed in the callee's zone). The twin of
 * request.py's _with_dates: a copy slot by slot in Python cost several times more. */
static PyObject *with_dates(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (call_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the call reader is not configured");
        return NULL;
    }
    if (nargs != 3 || Py_TYPE(args[0]) != call_type) {
        PyErr_SetString(PyExc_TypeError, "with_dates(call: Call, lists, lists_checked_at)");
        return NULL;
    }
    PyObject *copy = call_type->tp_alloc(call_type, 0);
    if (copy == NULL)
        return NULL;
    for (int slot = 0; slot < SLOT_COUNT; slot++) {
        PyObject *value = *(PyObject **)((char *)args[0] + slot_offset[slot]);
        set_slot(copy, slot, Py_XNewRef(value));
    }
    set_slot(copy, S_LISTS, Py_NewRef(args[1]));
    set_slot(copy, S_LISTS_CHECKED_AT, Py_NewRef(args[2]));
    return copy;
}

/* date_or_seconds(text): a value of a map of dates the reader checked (see read_map) as the
 * Call gives it: a bare date as a datetime.date (from the date cache), an instant as POSIX
 * seconds. The twin of request.py's _date_or_seconds; ValueError for text it cannot read. */
static PyObject *date_or_seconds(PyObject *module, PyObject *text)
{
    (void)module;
    Instant t;
    if (!read_instant(text, 1, &t)) {
        PyErr_Format(PyExc_ValueError, "%R is not a date or an instant", text);
        return NULL;
    }
    return date_or_timestamp(&t);
}

/* ---- the location table ---------------------------------------------------------------- */

/* nanp_answer(key_lengths, blocks, e164): the location table's answer for "+1" and ten ASCII
 * digits, blocks[e164[:key_lengths[area code]]]; None for any other text. The twin of
 * locationtable.py's LocationTable.get, a third of its cost: it makes one str (the block's key)
 * where get makes three slices and asks three methods, and every call locates its number. */
static PyObject *nanp_answer(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || !PyBytes_CheckExact(args[0]) || PyBytes_GET_SIZE(args[0]) != 1000
        || !PyDict_CheckExact(args[1]) || !PyUnicode_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError,
                        "nanp_answer(key_lengths: bytes (1000), blocks: dict, e164: str)");
        return NULL;
    }
    PyObject *text = args[2];
    if (PyUnicode_READY(text) < 0)
        return NULL;
    if (!PyUnicode_IS_ASCII(text) || PyUnicode_GET_LENGTH(text) != 12)
        Py_RETURN_NONE;
    const char *s = (const char *)PyUnicode_DATA(text);
    if (s[0] != '+' || s[1] != '1')
        Py_RETURN_NONE;
    for (int i = 2; i < 12; i++)
        if (!is_digit(s[i]))
            Py_RETURN_NONE;
    int area = (s[2] - '0') * 100 + (s[3] - '0') * 10 + (s[4] - '0');
    Py_ssize_t length = (unsigned char)PyBytes_AS_STRING(args[0])[area];
    if (length > 12) {
        PyErr_SetString(PyExc_ValueError, "a block's key is longer than the number");
        return NULL;
    }
    PyObject *key = PyUnicode_FromStringAndSize(s, length);
    if (key == NULL)
        return NULL;
    PyObject *found = PyDict_GetItemWithError(args[1], key);
    if (found == NULL && !PyErr_Occurred())
        PyErr_SetObject(PyExc_KeyError, key);
    Py_DECREF(key);
    return Py_XNewRef(found);
}

/* ---- lines of JSON ------------------------------------------------------------------------ */

/* digit_run(data, length): whether bytes hold a run of at least `length` ASCII digits (the
 * JSON reader sends such a line to the exact parser: orjson reads an integer past 64 bits as a
 * float). The twin of jsonlines.py's translate-and-find. Every run that long covers one of the
 * positions length-1, 2*length-1, ...: only those are looked at, and the run of digits around
 * one that is a digit is measured. */
static PyObject *digit_run(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyBytes_CheckExact(args[0]) || !PyLong_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "digit_run(data: bytes, length: int)");
        return NULL;
    }
    Py_ssize_t length = PyLong_AsSsize_t(args[1]);
    if (length < 1) {
        if (length == -1 && PyErr_Occurred())
            return NULL;
        PyErr_SetString(PyExc_ValueError, "a run has at least one digit");
        return NULL;
    }
    const char *s = PyBytes_AS_STRING(args[0]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[0]);
    for (Py_ssize_t at = length - 1; at < n; at += length) {
        if (!is_digit(s[at]))
            continue;
        Py_ssize_t start = at, end = at + 1;
        while (start > 0 && is_digit(s[start - 1]))
            start--;
        while (end < n && is_digit(s[end]))
            end++;
        if (end - start >= length)
            Py_RETURN_TRUE;
    }
    Py_RETURN_FALSE;
}

/* split_lines(data): data.split(b"\n"), a sixth of the cost: bytes.split looks at a one-byte
 * separator byte by byte, memchr at a word or more at a time (a call is some 900 bytes). */
static PyObject *split_lines(PyObject *module, PyObject *data)
{
    (void)module;
    if (!PyBytes_CheckExact(data)) {
        PyErr_SetString(PyExc_TypeError, "split_lines(data: bytes)");
        return NULL;
    }
    const char *s = PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    PyObject *lines = PyList_New(0);
    if (lines == NULL)
        return NULL;
    const char *start = s, *end = s + n;
    for (;;) {
        const char *stop = memchr(start, '\n', (size_t)(end - start));
        PyObject *line = PyBytes_FromStringAndSize(start, (stop == NULL ? end : stop) - start);
        if (line == NULL || PyList_Append(lines, line) < 0) {
            Py_XDECREF(line);
            Py_DECREF(lines);
            return NULL;
        }
        Py_DECREF(line);
        if (stop == NULL)
            return lines;
        start = stop + 1;
    }
}

/* as_array(data, separator): b"[" + data.removesuffix(b"\n").replace(b"\n", separator) + b"]",
 * written in one pass (memchr) into a bytes object of its final size, where the expression
 * copies a block of lines four times: the text the JSON reader reads a block of lines from at
 * once (see jsonlines.py). */
static PyObject *as_array(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyBytes_CheckExact(args[0]) || !PyBytes_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "as_array(data: bytes, separator: bytes)");
        return NULL;
    }
    const char *s = PyBytes_AS_STRING(args[0]), *sep = PyBytes_AS_STRING(args[1]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[0]), width = PyBytes_GET_SIZE(args[1]);
    if (n > 0 && s[n - 1] == '\n')
        n--;
    Py_ssize_t breaks = 0;
    for (const char *at = s, *end = s + n; (at = memchr(at, '\n', (size_t)(end - at))) != NULL;
         at++)
        breaks++;
    if (width > 1 && breaks > (PY_SSIZE_T_MAX - n - 2) / (width - 1))
        return PyErr_NoMemory();
    PyObject *out = PyBytes_FromStringAndSize(NULL, n + 2 + breaks * (width - 1));
    if (out == NULL)
        return NULL;
    char *w = PyBytes_AS_STRING(out);
    *w++ = '[';
    const char *start = s, *end = s + n;
    for (;;) {
        const char *stop = memchr(start, '\n', (size_t)(end - start));
        Py_ssize_t size = (stop == NULL ? end : stop) - start;
        memcpy(w, start, (size_t)size);
        w += size;
        if (stop == NULL)
            break;
        memcpy(w, sep, (size_t)width);
        w += width;
        start = stop + 1;
    }
    *w = ']';
    return out;
}

static PyMethodDef methods[] = {
    {"read", read_call, METH_O,
     "read(raw) -> Call | None: the call converted, or None when the reference path must judge."},
    {"read_line", read_line, METH_O,
     "read_line(line) -> Call | None: the call of a line of JSON, or None when the line must be "
     "read as JSON first."},
    {"read_lines", (PyCFunction)(void (*)(void))read_lines, METH_FASTCALL,
     "read_lines(data, first) -> ([(number, Call | bytes)], [positions of the bytes]): each line "
     "that is not blank, read by read_line, else its bytes."},
    {"configure_lines", configure_lines, METH_O,
     "configure_lines(loads): how a line's request is read when all of it is asked for."},
    {"configure", configure, METH_VARARGS,
     "configure(Call, records, defaults, dates): the class the reader builds, the record class of "
     "each array of records by field, the default of each slot by name, and the class holding a "
     "map of dates as given."},
    {"date_or_seconds", date_or_seconds, METH_O,
     "date_or_seconds(text) -> date | float: a bare date as a date, an instant as POSIX seconds."},
    {"with_dates", (PyCFunction)(void (*)(void))with_dates, METH_FASTCALL,
     "with_dates(call, lists, lists_checked_at) -> Call: a copy of the call with those two."},
    {"nanp_answer", (PyCFunction)(void (*)(void))nanp_answer, METH_FASTCALL,
     "nanp_answer(key_lengths, blocks, e164): the location table's answer (LocationTable.get)."},
    {"digit_run", (PyCFunction)(void (*)(void))digit_run, METH_FASTCALL,
     "digit_run(data, length) -> bool: whether the bytes hold a run of `length` ASCII digits."},
    {"split_lines", split_lines, METH_O,
     "split_lines(data) -> list[bytes]: data.split(b'\\n'), looked through by memchr."},
    {"as_array", (PyCFunction)(void (*)(void))as_array, METH_FASTCALL,
     "as_array(data, separator) -> bytes: the lines of data as the text of a JSON array."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_callreader",
    "The compiled call reader (see request.py): a faster road to the same Call.", -1, methods,
    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__callreader(void)
{
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(ALL_NAMES) / sizeof(ALL_NAMES[0]); i++)
        if (index_names(ALL_NAMES[i]) < 0)
            return NULL;
    if ((million = PyLong_FromLong(1000000)) == NULL)
        return NULL;
    fill_plain();
    static const char *const by_dict_names[] = {"keys", "values", "items", "copy"};
    for (size_t i = 0; i < sizeof(by_dict_names) / sizeof(*by_dict_names); i++)
        if ((dict_method_names[i] = PyUnicode_InternFromString(by_dict_names[i])) == NULL)
            return NULL;
    if (PyType_Ready(&LineDatesType) < 0 || PyType_Ready(&LineRequestType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module != NULL
        && (PyModule_AddStringConstant(module, "TABLES_DIGEST", TABLES_DIGEST) < 0
            || PyModule_AddType(module, &LineDatesType) < 0
            || PyModule_AddType(module, &LineRequestType) < 0))
        Py_CLEAR(module);
    return module;
}
