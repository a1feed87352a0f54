/* The compiled call reader: checks a call request against the rules of
 * schemas/call.schema.json and converts it to a ringfence.contract.request.Call, in one pass over the dict.
 *
 * It only ever accepts calls the schema accepts. Anything it is not sure of (a field it does not
 * know, a value of an unexpected Python type, a date that is not in the calendar, text outside
 * ASCII where a pattern applies) makes it answer None, and request.py then takes the reference
 * path (jsonschema_rs and jsonschema, then the Python conversion), which also words the errors.
 * So this file never rejects a call and never words an error: it is a faster road to the same
 * Call. tests/test_core_callreader.py checks on generated and mutated calls that both roads give
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

/* The Python classes the reader builds, given once by request.py through configure(). */
static PyTypeObject *call_type, *consent_type, *opt_out_type;
/* Fixed-offset zones by offset in minutes (+-23:59), made on first use and kept. */
static PyObject *zone_by_minute[2 * 24 * 60];
static PyObject *million; /* 10**6, for timestamps too large to divide exactly as doubles */

/* The slots of a Call, written directly (at offsets read from the class by configure()). */
enum Slot {
    S_RAW, S_TO, S_AT, S_AT_TS, S_CONSENT, S_OPT_OUTS, S_HISTORY_AT, S_HISTORY_ITEMS,
    S_LAST_TRANSACTION_AT, S_LAST_INQUIRY_AT, S_CONTRACT_ACTIVE, S_LISTS, S_LISTS_CHECKED_AT,
    SLOT_COUNT
};
static const char *const SLOT_NAMES[SLOT_COUNT] = {
    "raw", "to", "at", "at_ts", "consent", "opt_outs", "history_at", "history_items",
    "last_transaction_at", "last_inquiry_at", "contract_active", "lists", "lists_checked_at"};
static Py_ssize_t slot_offset[SLOT_COUNT];
/* What a slot holds when the call does not give the field (as Call.__init__ sets it). */
static PyObject *slot_default[SLOT_COUNT];

/* Stores a new reference (stolen) in one of the call's slots. */
static void set_slot(PyObject *call, int slot, PyObject *value)
{
    PyObject **place = (PyObject **)((char *)call + slot_offset[slot]);
    Py_XSETREF(*place, value);
}

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
} Names;

#define NAMES(array) {array, (int)(sizeof(array) / sizeof(array[0])), {0}, {0}}

static int index_names(Names *table)
{
    memset(table->index, -1, sizeof(table->index));
    for (int i = 0; i < table->count; i++) {
        PyObject *text = PyUnicode_FromStringAndSize(table->names[i].text, table->names[i].size);
        if (text == NULL)
            return -1;
        table->hashes[i] = PyObject_Hash(text);
        Py_DECREF(text);
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

/* ^[A-Za-z_][A-Za-z0-9_-]*$ */
static int is_word(PyObject *value)
{
    Py_ssize_t n;
    const char *s = ascii(value, &n);
    if (s == NULL || n < 1 || !is_word_start(s[0]))
        return 0;
    for (Py_ssize_t i = 1; i < n; i++)
        if (!is_word_start(s[i]) && !is_digit(s[i]) && s[i] != '-')
            return 0;
    return 1;
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
    return name_index(value, table) >= 0;
}

static int is_text(PyObject *value) { return PyUnicode_CheckExact(value); }

/* An array of words (consent and opt-out purposes), as a tuple; UNSURE otherwise. */
static int word_tuple(PyObject *value, PyObject **out)
{
    if (!PyList_CheckExact(value))
        return UNSURE;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++)
        if (!is_word(PyList_GET_ITEM(value, i)))
            return UNSURE;
    *out = PyList_AsTuple(value);
    return *out == NULL ? FAILED : OK;
}

/* ---- names the schema allows ------------------------------------------------------------ */

static const Name history_keys[] = {NAME("at"), NAME("outcome"), NAME("subject"), NAME("campaign"),
                                    NAME("purpose")};
static Names HISTORY_KEYS = NAMES(history_keys);
static const Name consent_keys[] = {NAME("type"), NAME("purposes"), NAME("at"), NAME("expires_at"),
                                    NAME("revoked_at")};
static Names CONSENT_KEYS = NAMES(consent_keys);
static const Name consent_types[] = {NAME("express"), NAME("express_written")};
static Names CONSENT_TYPES = NAMES(consent_types);
static const Name opt_out_keys[] = {NAME("at"), NAME("purposes")};
static Names OPT_OUT_KEYS = NAMES(opt_out_keys);
static const Name list_keys[] = {NAME("name"), NAME("listed_at")};
static Names LIST_KEYS = NAMES(list_keys);
static const Name relationship_keys[] = {NAME("last_transaction_at"), NAME("last_inquiry_at"),
                                         NAME("contract_active")};
static Names RELATIONSHIP_KEYS = NAMES(relationship_keys);
static const Name outcomes[] = {NAME("conversation"), NAME("voicemail"), NAME("no_answer"),
                                NAME("busy"), NAME("abandoned"), NAME("answering_machine"),
                                NAME("refused")};
static Names OUTCOMES = NAMES(outcomes);
static const Name line_types[] = {NAME("mobile"), NAME("landline"), NAME("voip"), NAME("unknown")};
static Names LINE_TYPES = NAMES(line_types);
static const Name technologies[] = {NAME("manual"), NAME("autodialer"), NAME("prerecorded"),
                                    NAME("artificial_voice")};
static Names TECHNOLOGIES = NAMES(technologies);
/* The top-level fields, in the order of enum Field. */
enum Field {
    F_ID, F_TO, F_AT, F_FROM, F_TO_TIMEZONE, F_TO_REGION, F_LINE_TYPE, F_PURPOSE, F_SECTOR,
    F_TECHNOLOGY, F_SUBJECT, F_CAMPAIGN, F_CONSENT, F_RELATIONSHIP, F_LISTS, F_LISTS_CHECKED_AT,
    F_OPT_OUTS, F_HISTORY, F_META, FIELD_COUNT
};
static const Name fields[] = {NAME("id"), NAME("to"), NAME("at"), NAME("from"), NAME("to_timezone"),
                              NAME("to_region"), NAME("line_type"), NAME("purpose"), NAME("sector"),
                              NAME("technology"), NAME("subject"), NAME("campaign"),
                              NAME("consent"), NAME("relationship"), NAME("lists"),
                              NAME("lists_checked_at"), NAME("opt_outs"), NAME("history"),
                              NAME("meta")};
static Names FIELDS = NAMES(fields);
_Static_assert(sizeof(fields) / sizeof(fields[0]) == FIELD_COUNT, "one name per field");
static Names *const ALL_NAMES[] = {&HISTORY_KEYS, &CONSENT_KEYS, &CONSENT_TYPES, &OPT_OUT_KEYS,
                                   &LIST_KEYS, &RELATIONSHIP_KEYS, &OUTCOMES, &LINE_TYPES,
                                   &TECHNOLOGIES, &FIELDS};

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
static int read_instant(PyObject *value, int date_allowed, Instant *t)
{
    Py_ssize_t n;
    const char *s = ascii(value, &n);
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

/* The instant's timestamp, or for a bare date a datetime.date (the evaluator places it in the
 * callee's zone, which only it knows). */
static PyObject *date_or_timestamp(const Instant *t)
{
    if (t->is_date)
        return PyDate_FromDate(t->year, t->month, t->day);
    return timestamp(t);
}

/* The timestamp of an instant field, in *out; UNSURE if the value is not one. */
static int instant_field(PyObject *value, PyObject **out)
{
    Instant t;
    if (!read_instant(value, 0, &t))
        return UNSURE;
    *out = timestamp(&t);
    return *out == NULL ? FAILED : OK;
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

/* ---- the arrays and objects of a call --------------------------------------------------- */

/* A namedtuple instance of `type` holding `count` new references (stolen, even on failure). */
static PyObject *record(PyTypeObject *type, PyObject **items, Py_ssize_t count)
{
    PyObject *result = type->tp_alloc(type, count);
    for (Py_ssize_t i = 0; i < count; i++) {
        if (result == NULL)
            Py_XDECREF(items[i]);
        else
            PyTuple_SET_ITEM(result, i, items[i]);
    }
    return result;
}

/* Iterates an array of objects: each item must be an exact dict; fn reads one item. */
typedef int (*ItemReader)(PyObject *item, PyObject **out);

static int each_item(PyObject *value, ItemReader fn, PyObject **out)
{
    if (!PyList_CheckExact(value))
        return UNSURE;
    Py_ssize_t n = PyList_GET_SIZE(value);
    PyObject *result = PyTuple_New(n);
    if (result == NULL)
        return FAILED;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyList_GET_ITEM(value, i), *read = NULL;
        int status = PyDict_CheckExact(item) ? fn(item, &read) : UNSURE;
        if (status != OK) {
            Py_DECREF(result);
            return status;
        }
        PyTuple_SET_ITEM(result, i, read);
    }
    *out = result;
    return OK;
}


/* A prior attempt {at, outcome, subject, campaign, purpose}: its timestamp. */
static int history_item(PyObject *item, PyObject **out)
{
    PyObject *key, *value, *at = NULL;
    Py_ssize_t pos = 0;
    while (PyDict_Next(item, &pos, &key, &value)) {
        int ok;
        switch (name_index(key, &HISTORY_KEYS)) {
        case 0: at = value; ok = 1; break;
        case 1: ok = is_one_of(value, &OUTCOMES); break;
        case 2: case 3: ok = is_text(value); break;
        case 4: ok = is_word(value); break;
        default: ok = 0;
        }
        if (!ok)
            return UNSURE;
    }
    return at == NULL ? UNSURE : instant_field(at, out);
}

/* A consent record {type, purposes, at, expires_at, revoked_at} as a ConsentRecord. */
static int consent_item(PyObject *item, PyObject **out)
{
    PyObject *key, *value, *given[5] = {NULL};
    Py_ssize_t pos = 0;
    while (PyDict_Next(item, &pos, &key, &value)) {
        int which = name_index(key, &CONSENT_KEYS);
        if (which < 0 || (which == 0 && !is_one_of(value, &CONSENT_TYPES)))
            return UNSURE;
        given[which] = value;
    }
    if (given[0] == NULL || given[1] == NULL || given[2] == NULL)
        return UNSURE;
    PyObject *fields[5] = {Py_NewRef(given[0]), NULL, NULL, Py_NewRef(Py_None), Py_NewRef(Py_None)};
    int status = word_tuple(given[1], &fields[1]);
    for (int i = 2; i < 5 && status == OK; i++)
        if (given[i] != NULL) {
            Py_XDECREF(fields[i]);
            fields[i] = NULL;
            status = instant_field(given[i], &fields[i]);
        }
    if (status != OK) {
        for (int i = 0; i < 5; i++)
            Py_XDECREF(fields[i]);
        return status;
    }
    *out = record(consent_type, fields, 5);
    return *out == NULL ? FAILED : OK;
}

/* An opt-out {at, purposes} as an OptOut (purposes None: every purpose). */
static int opt_out_item(PyObject *item, PyObject **out)
{
    PyObject *key, *value, *given[2] = {NULL};
    Py_ssize_t pos = 0;
    while (PyDict_Next(item, &pos, &key, &value)) {
        int which = name_index(key, &OPT_OUT_KEYS);
        if (which < 0)
            return UNSURE;
        given[which] = value;
    }
    if (given[0] == NULL)
        return UNSURE;
    PyObject *fields[2] = {NULL, Py_NewRef(Py_None)};
    int status = instant_field(given[0], &fields[0]);
    if (status == OK && given[1] != NULL) {
        Py_DECREF(fields[1]);
        fields[1] = NULL;
        status = word_tuple(given[1], &fields[1]);
    }
    if (status != OK) {
        Py_XDECREF(fields[0]);
        Py_XDECREF(fields[1]);
        return status;
    }
    *out = record(opt_out_type, fields, 2);
    return *out == NULL ? FAILED : OK;
}

/* A date-or-instant field (a list's listing or washing date). */
static int listing_field(PyObject *value, PyObject **out)
{
    Instant t;
    if (!read_instant(value, 1, &t))
        return UNSURE;
    *out = date_or_timestamp(&t);
    return *out == NULL ? FAILED : OK;
}

/* The lists a call says the number is on: {name: listing time or date, or None}. The same list
 * twice: an unknown listing date wins (it reads as "listed long ago"), else the first given. */
static int read_lists(PyObject *value, PyObject **out)
{
    if (!PyList_CheckExact(value))
        return UNSURE;
    PyObject *result = PyDict_New();
    if (result == NULL)
        return FAILED;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
        PyObject *item = PyList_GET_ITEM(value, i), *key, *field, *given[2] = {NULL};
        Py_ssize_t pos = 0;
        int status = PyDict_CheckExact(item) ? OK : UNSURE;
        while (status == OK && PyDict_Next(item, &pos, &key, &field)) {
            int which = name_index(key, &LIST_KEYS);
            if (which < 0 || (which == 0 && !is_word(field)))
                status = UNSURE;
            else
                given[which] = field;
        }
        if (status == OK && given[0] == NULL)
            status = UNSURE;
        PyObject *listed = Py_NewRef(Py_None);
        if (status == OK && given[1] != NULL) {
            Py_DECREF(listed);
            listed = NULL;
            status = listing_field(given[1], &listed);
        }
        if (status == OK) {
            int known = PyDict_Contains(result, given[0]);
            if (known < 0 || ((!known || listed == Py_None)
                              && PyDict_SetItem(result, given[0], listed) < 0))
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

/* When each list was washed: {name: date or instant}. */
static int read_lists_checked(PyObject *value, PyObject **out)
{
    if (!PyDict_CheckExact(value))
        return UNSURE;
    PyObject *result = PyDict_New(), *key, *field;
    if (result == NULL)
        return FAILED;
    Py_ssize_t pos = 0;
    while (PyDict_Next(value, &pos, &key, &field)) {
        PyObject *when = NULL;
        int status = is_word(key) ? listing_field(field, &when) : UNSURE;
        if (status == OK && PyDict_SetItem(result, key, when) < 0)
            status = FAILED;
        Py_XDECREF(when);
        if (status != OK) {
            Py_DECREF(result);
            return status;
        }
    }
    *out = result;
    return OK;
}

/* The relationship {last_transaction_at, last_inquiry_at, contract_active}, set on the call. */
static int read_relationship(PyObject *value, PyObject *call)
{
    if (!PyDict_CheckExact(value))
        return UNSURE;
    PyObject *key, *field, *given[3] = {NULL};
    Py_ssize_t pos = 0;
    while (PyDict_Next(value, &pos, &key, &field)) {
        int which = name_index(key, &RELATIONSHIP_KEYS);
        if (which < 0 || (which == 2 && field != Py_True && field != Py_False))
            return UNSURE;
        given[which] = field;
    }
    if (given[2] != NULL)
        set_slot(call, S_CONTRACT_ACTIVE, Py_NewRef(given[2]));
    for (int i = 0; i < 2; i++) {
        PyObject *converted;
        int status = given[i] == NULL ? OK : instant_field(given[i], &converted);
        if (status != OK)
            return status;
        if (given[i] != NULL)
            set_slot(call, i == 0 ? S_LAST_TRANSACTION_AT : S_LAST_INQUIRY_AT, converted);
    }
    return OK;
}

/* ---- the call ------------------------------------------------------------------------------ */




/* Whether a top-level field's value is one the schema accepts, for the fields that are checked
 * but not converted here (the converted ones are checked as they are converted). */
static int plain_field_ok(int which, PyObject *value)
{
    switch (which) {
    case F_ID: return PyUnicode_CheckExact(value) || PyLong_CheckExact(value);
    case F_TO: return is_e164(value);
    case F_FROM: {
        Py_ssize_t n;
        const char *s = ascii(value, &n);
        return is_e164(value) || (s != NULL && n == 8 && same_text(s, "withheld", 8));
    }
    case F_TO_TIMEZONE: return PyUnicode_CheckExact(value) && PyUnicode_GET_LENGTH(value) >= 1;
    case F_TO_REGION: return is_region(value);
    case F_LINE_TYPE: return is_one_of(value, &LINE_TYPES);
    case F_PURPOSE: case F_SECTOR: return is_word(value);
    case F_TECHNOLOGY: return is_one_of(value, &TECHNOLOGIES);
    case F_SUBJECT: case F_CAMPAIGN: return is_text(value);
    case F_META: return PyDict_CheckExact(value);
    default: return 1; /* at and the converted fields */
    }
}

/* Converts one of the array/object fields and sets it on the call. */
static int converted_field(int which, PyObject *value, PyObject *call)
{
    PyObject *out = NULL;
    int status, slot;
    switch (which) {
    case F_HISTORY:
        status = each_item(value, history_item, &out);
        if (status == OK)
            set_slot(call, S_HISTORY_ITEMS, Py_NewRef(value));
        slot = S_HISTORY_AT;
        break;
    case F_CONSENT: status = each_item(value, consent_item, &out); slot = S_CONSENT; break;
    case F_OPT_OUTS: status = each_item(value, opt_out_item, &out); slot = S_OPT_OUTS; break;
    case F_LISTS: status = read_lists(value, &out); slot = S_LISTS; break;
    case F_LISTS_CHECKED_AT: status = read_lists_checked(value, &out); slot = S_LISTS_CHECKED_AT;
        break;
    case F_RELATIONSHIP: return read_relationship(value, call);
    default: return OK;
    }
    if (status == OK)
        set_slot(call, slot, out);
    return status;
}

/* Reads the call. The pointers it keeps into the request are borrowed: that is safe only while
 * no Python code runs, which read_call (below) ensures. */
static PyObject *read_unguarded(PyObject *raw)
{
    if (!PyDict_CheckExact(raw))
        Py_RETURN_NONE;
    PyObject *given[FIELD_COUNT] = {NULL}, *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(raw, &pos, &key, &value)) {
        int which = name_index(key, &FIELDS);
        if (which < 0 || !plain_field_ok(which, value))
            Py_RETURN_NONE;
        given[which] = value;
    }
    Instant at;
    if (given[F_TO] == NULL || given[F_AT] == NULL || !read_instant(given[F_AT], 0, &at))
        Py_RETURN_NONE;
    PyObject *call = call_type->tp_alloc(call_type, 0);
    if (call == NULL)
        return NULL;
    for (int slot = S_CONSENT; slot < SLOT_COUNT; slot++)
        set_slot(call, slot, Py_NewRef(slot_default[slot]));
    set_slot(call, S_RAW, Py_NewRef(raw));
    set_slot(call, S_TO, Py_NewRef(given[F_TO]));
    PyObject *when = aware_datetime(&at), *seconds = when == NULL ? NULL : timestamp(&at);
    int status = when != NULL && seconds != NULL ? OK : FAILED;
    set_slot(call, S_AT, when);
    set_slot(call, S_AT_TS, seconds);
    for (int which = F_CONSENT; which <= F_HISTORY && status == OK; which++)
        if (given[which] != NULL)
            status = converted_field(which, given[which], call);
    if (status == OK)
        return call;
    Py_DECREF(call);
    if (status == FAILED)
        return NULL;
    Py_RETURN_NONE;
}

/* Where each slot of the Call class lies: the offsets its member descriptors give, in `found`
 * (so that a class that does not fit leaves the reader as it was). */
static int find_slots(PyTypeObject *type, Py_ssize_t *found)
{
    for (int slot = 0; slot < SLOT_COUNT; slot++) {
        PyObject *descr = PyObject_GetAttrString((PyObject *)type, SLOT_NAMES[slot]);
        if (descr == NULL)
            return -1;
        int is_slot = Py_IS_TYPE(descr, &PyMemberDescr_Type)
                      && ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX;
        if (is_slot)
            found[slot] = ((PyMemberDescrObject *)descr)->d_member->offset;
        Py_DECREF(descr);
        if (!is_slot) {
            PyErr_Format(PyExc_TypeError, "Call.%s must be a slot", SLOT_NAMES[slot]);
            return -1;
        }
    }
    return 0;
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
    int collecting = PyGC_Disable();
    PyObject *result = read_unguarded(raw);
    if (collecting)
        PyGC_Enable();
    return result;
}

static PyObject *configure(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *call, *consent, *opt_out, *no_entries;
    if (!PyArg_ParseTuple(args, "O!O!O!O:configure", &PyType_Type, &call, &PyType_Type, &consent,
                          &PyType_Type, &opt_out, &no_entries))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)consent, &PyTuple_Type)
        || !PyType_IsSubtype((PyTypeObject *)opt_out, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "consent and opt-out records must be tuples");
        return NULL;
    }
    Py_ssize_t offsets[SLOT_COUNT];
    if (find_slots((PyTypeObject *)call, offsets) < 0)
        return NULL;
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL)
        return NULL;
    PyObject *defaults[SLOT_COUNT] = {
        [S_CONSENT] = empty, [S_OPT_OUTS] = empty, [S_HISTORY_AT] = empty,
        [S_HISTORY_ITEMS] = empty, [S_LAST_TRANSACTION_AT] = Py_None,
        [S_LAST_INQUIRY_AT] = Py_None, [S_CONTRACT_ACTIVE] = Py_None, [S_LISTS] = no_entries,
        [S_LISTS_CHECKED_AT] = no_entries};
    for (int slot = S_CONSENT; slot < SLOT_COUNT; slot++)
        Py_XSETREF(slot_default[slot], Py_NewRef(defaults[slot]));
    Py_DECREF(empty);
    memcpy(slot_offset, offsets, sizeof(slot_offset));
    Py_XSETREF(call_type, (PyTypeObject *)Py_NewRef(call));
    Py_XSETREF(consent_type, (PyTypeObject *)Py_NewRef(consent));
    Py_XSETREF(opt_out_type, (PyTypeObject *)Py_NewRef(opt_out));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"read", read_call, METH_O,
     "read(raw) -> Call | None: the call converted, or None when the reference path must judge."},
    {"configure", configure, METH_VARARGS,
     "configure(Call, ConsentRecord, OptOut, empty_mapping): the classes the reader builds."},
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
    return PyModule_Create(&module_def);
}
