/* The compiled line writer of ``ringfence decide``: a run of decisions written as output lines,
 * each byte for byte what Decision.to_json(compact=...) writes (orjson's compact JSON of
 * Decision.to_dict, and a line break), into one bytearray, in one call for the run.
 *
 * Written in Python, each line cost about 3 us: a dict of fifteen keys built, orjson walking it,
 * and the block loop's steps around it (see tools/decidework.py, write_lines, the reference
 * path). Here the record's fields are read from the decision and written straight out; the
 * findings and the policy references are the bytes each wrote once (_WrittenOnce.written).
 *
 * It only ever writes what the reference writes. Anything it is not sure of (an attempt to
 * write, a trace, a decision made without the judge's references, an instant whose offset has
 * seconds or a zone other than datetime.timezone and zoneinfo.ZoneInfo, meta holding an integer
 * past 64 bits, a lone surrogate, a type orjson may write its own way, deep nesting) makes it
 * stop before that line, unwritten, and the block loop writes it by the reference path, which
 * also raises the errors. tests/test_core_linewriter.py holds both paths equal.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <structmember.h>
#include <string.h>
#include <stdint.h>

#define OK 0
#define UNSURE (-1) /* not written: the reference path writes it (an exception may be set) */

/* Nesting in meta written here; deeper goes to the reference path (orjson stops at 255). */
#define MAX_DEPTH 64

/* ---- the output buffer ------------------------------------------------------------------ */

typedef struct {
    char *data;
    Py_ssize_t size, room;
} Buffer;

static int grow(Buffer *out, Py_ssize_t more)
{
    Py_ssize_t room = out->room ? out->room : 4096;
    while (room - out->size < more)
        room *= 2;
    char *data = PyMem_Realloc(out->data, (size_t)room);
    if (data == NULL)
        return UNSURE;
    out->data = data;
    out->room = room;
    return OK;
}

static inline int put(Buffer *out, const char *bytes, Py_ssize_t size)
{
    if (out->room - out->size < size && grow(out, size) < 0)
        return UNSURE;
    memcpy(out->data + out->size, bytes, (size_t)size);
    out->size += size;
    return OK;
}

/* The buffer a run of lines was written into, kept for the next run: one made for each run
 * grew from 4 kB to the run's size (some 100 kB), copying what it held at each step, about one
 * copy more of every line. A run takes it (none is kept meanwhile: a run written while this one
 * is, by Python code a property runs, in this thread or another, starts a buffer of its own),
 * and gives back what it wrote in, kept unless another was kept first or it grew past
 * KEPT_MOST. Both run under the GIL, with no Python code between their steps. */
#define KEPT_MOST (4 << 20)
static Buffer kept = {NULL, 0, 0};

static Buffer take_buffer(void)
{
    Buffer out = kept;
    out.size = 0;
    kept = (Buffer){NULL, 0, 0};
    return out;
}

static void give_back(Buffer *out)
{
    if (kept.data == NULL && out->room <= KEPT_MOST)
        kept = *out;
    else
        PyMem_Free(out->data);
}

/* a string literal only ("" rejects a pointer, whose sizeof would be taken) */
#define PUT(out, literal) put(out, "" literal, sizeof("" literal) - 1)

/* ---- values, as orjson writes them ------------------------------------------------------ */

/* What orjson writes for each byte of a str's UTF-8: 0 as it stands, else the letter of its
 * short escape, or 'u' for \u00XX. */
static char escapes[256];

static void fill_escapes(void)
{
    for (int byte = 0; byte < 0x20; byte++)
        escapes[byte] = 'u';
    escapes['\b'] = 'b';
    escapes['\t'] = 't';
    escapes['\n'] = 'n';
    escapes['\f'] = 'f';
    escapes['\r'] = 'r';
    escapes['"'] = '"';
    escapes['\\'] = '\\';
}

static int put_str(Buffer *out, PyObject *text)
{
    Py_ssize_t size;
    const char *bytes;
    if (PyUnicode_IS_COMPACT_ASCII(text)) { /* no UTF-8 copy to make or look up */
        size = PyUnicode_GET_LENGTH(text);
        bytes = (const char *)(((PyASCIIObject *)text) + 1);
    } else if ((bytes = PyUnicode_AsUTF8AndSize(text, &size)) == NULL) {
        return UNSURE; /* a lone surrogate: orjson refuses it */
    }
    /* at most six bytes for each byte written (\u00XX), and the quotes */
    if (out->room - out->size < 6 * size + 2 && grow(out, 6 * size + 2) < 0)
        return UNSURE;
    char *at = out->data + out->size;
    *at++ = '"';
    for (Py_ssize_t i = 0; i < size; i++) {
        unsigned char byte = (unsigned char)bytes[i];
        char escape = escapes[byte];
        if (!escape) {
            *at++ = (char)byte;
        } else if (escape != 'u') {
            *at++ = '\\';
            *at++ = escape;
        } else {
            static const char hex[] = "0123456789abcdef";
            memcpy(at, "\\u00", 4);
            at[4] = hex[byte >> 4];
            at[5] = hex[byte & 15];
            at += 6;
        }
    }
    *at++ = '"';
    out->size = at - out->data;
    return OK;
}

/* The decimal digits of a number, written backwards from the end of the room given: where the
 * first of them is (snprintf cost a fifth of a line) */
static char *digits_of(unsigned long long number, char *end)
{
    do {
        *--end = (char)('0' + number % 10);
        number /= 10;
    } while (number);
    return end;
}

static int put_int(Buffer *out, PyObject *number)
{
    char room[24], *end = room + sizeof room, *first;
    int overflow;
    long long value = PyLong_AsLongLongAndOverflow(number, &overflow);
    if (overflow > 0) { /* orjson writes up to 2**64 - 1 */
        unsigned long long big = PyLong_AsUnsignedLongLong(number);
        if (big == (unsigned long long)-1 && PyErr_Occurred())
            return UNSURE;
        first = digits_of(big, end);
    } else if (overflow < 0 || (value == -1 && PyErr_Occurred())) {
        return UNSURE;
    } else if (value < 0) {
        first = digits_of(0ULL - (unsigned long long)value, end);
        *--first = '-';
    } else {
        first = digits_of((unsigned long long)value, end);
    }
    return put(out, first, end - first);
}

/* orjson.dumps, which writes floats (their shortest form is its own: 1e+16, 1.5e-7) */
static PyObject *dumps;

static int put_float(Buffer *out, PyObject *number)
{
    PyObject *written = PyObject_CallOneArg(dumps, number);
    if (written == NULL)
        return UNSURE;
    int done = put(out, PyBytes_AS_STRING(written), PyBytes_GET_SIZE(written));
    Py_DECREF(written);
    return done;
}

static int put_value(Buffer *out, PyObject *value, int depth);

static int put_list(Buffer *out, PyObject *list, int depth)
{
    if (PUT(out, "[") < 0)
        return UNSURE;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
        if ((i && PUT(out, ",") < 0) || put_value(out, PyList_GET_ITEM(list, i), depth) < 0)
            return UNSURE;
    }
    return PUT(out, "]");
}

static int put_dict(Buffer *out, PyObject *dict, int depth)
{
    PyObject *key, *value;
    Py_ssize_t place = 0;
    int first = 1;
    if (PUT(out, "{") < 0)
        return UNSURE;
    while (PyDict_Next(dict, &place, &key, &value)) {
        if (!PyUnicode_CheckExact(key)) /* orjson refuses other keys, a str's subclass too */
            return UNSURE;
        if ((!first && PUT(out, ",") < 0) || put_str(out, key) < 0 || PUT(out, ":") < 0 ||
            put_value(out, value, depth) < 0)
            return UNSURE;
        first = 0;
    }
    return PUT(out, "}");
}

/* Any JSON value of exact built-in types, as orjson writes it; any other is UNSURE (subclasses,
 * tuples, dataclasses: orjson has its own ways with them). */
static int put_value(Buffer *out, PyObject *value, int depth)
{
    if (value == Py_None)
        return PUT(out, "null");
    if (value == Py_True)
        return PUT(out, "true");
    if (value == Py_False)
        return PUT(out, "false");
    if (PyUnicode_CheckExact(value))
        return put_str(out, value);
    if (PyLong_CheckExact(value))
        return put_int(out, value);
    if (PyFloat_CheckExact(value))
        return put_float(out, value);
    if (depth >= MAX_DEPTH)
        return UNSURE;
    if (PyList_CheckExact(value))
        return put_list(out, value, depth + 1);
    if (PyDict_CheckExact(value))
        return put_dict(out, value, depth + 1);
    return UNSURE;
}

/* ---- instants --------------------------------------------------------------------------- */

static PyTypeObject *zone_info; /* zoneinfo.ZoneInfo */
/* The suffix each datetime.timezone seen writes ("Z", "-04:00"): an instant of a call comes in
 * one of a few such zones, whose offset is then not asked for again. */
static PyObject *suffixes;
static PyObject *utcoffset_name;

/* The suffix of an offset (a timedelta), or NULL when it has seconds (which orjson would round to
 * the minute and rfc3339 keeps: the reference path writes such an instant as a str). */
static PyObject *suffix_of(PyObject *offset)
{
    if (!PyDelta_Check(offset))
        return NULL;
    long seconds = PyDateTime_DELTA_GET_DAYS(offset) * 86400L +
                   PyDateTime_DELTA_GET_SECONDS(offset);
    if (seconds % 60 || PyDateTime_DELTA_GET_MICROSECONDS(offset))
        return NULL;
    if (seconds == 0)
        return PyUnicode_FromString("Z");
    long minutes = (seconds < 0 ? -seconds : seconds) / 60;
    return PyUnicode_FromFormat("%c%02ld:%02ld", seconds < 0 ? '-' : '+', minutes / 60,
                                minutes % 60);
}

/* A new reference to the suffix an instant is written with, or NULL (UNSURE). */
static PyObject *suffix(PyObject *when)
{
    PyObject *zone = ((PyDateTime_DateTime *)when)->hastzinfo
                         ? ((PyDateTime_DateTime *)when)->tzinfo : Py_None;
    PyObject *found, *offset;
    int fixed = Py_IS_TYPE(zone, Py_TYPE(PyDateTimeAPI->TimeZone_UTC)); /* datetime.timezone */
    if (!fixed && !Py_IS_TYPE(zone, zone_info))
        return NULL; /* naive, or a zone orjson has its own ways with: the reference path's */
    if (fixed && (found = PyDict_GetItemWithError(suffixes, zone)) != NULL)
        return Py_NewRef(found);
    if (PyErr_Occurred())
        return NULL;
    if ((offset = PyObject_CallMethodOneArg(zone, utcoffset_name, when)) == NULL)
        return NULL;
    found = suffix_of(offset);
    Py_DECREF(offset);
    if (found != NULL && fixed && PyDict_SetItem(suffixes, zone, found) < 0)
        Py_CLEAR(found);
    return found;
}

static void two_digits(char *at, int number)
{
    at[0] = (char)('0' + number / 10);
    at[1] = (char)('0' + number % 10);
}

/* An instant (a datetime) as orjson writes it with OPT_UTC_Z, in quotes. */
static int put_instant(Buffer *out, PyObject *when)
{
    if (!PyDateTime_CheckExact(when))
        return UNSURE;
    PyObject *zone = suffix(when);
    if (zone == NULL)
        return UNSURE;
    /* "YYYY-MM-DDTHH:MM:SS" and ".ffffff" when there are microseconds, digits set in place */
    char text[28];
    memcpy(text, "\"0000-00-00T00:00:00.000000", 27);
    digits_of((unsigned long long)PyDateTime_GET_YEAR(when), text + 5);
    two_digits(text + 6, PyDateTime_GET_MONTH(when));
    two_digits(text + 9, PyDateTime_GET_DAY(when));
    two_digits(text + 12, PyDateTime_DATE_GET_HOUR(when));
    two_digits(text + 15, PyDateTime_DATE_GET_MINUTE(when));
    two_digits(text + 18, PyDateTime_DATE_GET_SECOND(when));
    int micro = PyDateTime_DATE_GET_MICROSECOND(when), size = 20;
    if (micro) {
        digits_of((unsigned long long)micro + 1000000, text + 27)[0] = '.'; /* "1ffffff" */
        size = 27;
    }
    Py_ssize_t zone_size;
    const char *zone_text = PyUnicode_AsUTF8AndSize(zone, &zone_size);
    int failed = zone_text == NULL || put(out, text, size) < 0 ||
                 put(out, zone_text, zone_size) < 0 || PUT(out, "\"") < 0;
    Py_DECREF(zone);
    return failed ? UNSURE : OK;
}

/* ---- decisions -------------------------------------------------------------------------- */

enum {
    CALL_ID, DECISION, AT, VIOLATIONS, WARNINGS, SEARCH, NEXT_VALUE, NEXT_ALLOWED_AT, TIMEZONES,
    REGION, COUNTRY, LOCATED_BY, LOCATION_NOTE, REFS, META, TRACE, WRITTEN, WRITE, NAMES
};
static const char *const name_texts[NAMES] = {
    "call_id", "decision", "at", "violations", "warnings", "_search", "_next_value",
    "next_allowed_at", "timezones", "region", "country", "located_by", "location_note", "_refs",
    "meta", "trace", "_json", "written"};
static PyObject *names[NAMES];
static PyObject *allow; /* "allow" */

/* Where objects of `type` keep the attribute `name`: the offset of its slot, or -1 when it is
 * no slot that holds its value (a property: read by PyObject_GetAttr). */
static Py_ssize_t slot_offset(PyTypeObject *type, PyObject *name)
{
    PyObject *slot = type->tp_getattro == PyObject_GenericGetAttr ? _PyType_Lookup(type, name)
                                                                   : NULL;
    if (slot != NULL && Py_IS_TYPE(slot, &PyMemberDescr_Type)) {
        PyMemberDef *member = ((PyMemberDescrObject *)slot)->d_member;
        if (member->type == T_OBJECT_EX)
            return member->offset;
    }
    return -1;
}

/* An attribute of an object (a new reference), its slot's value read where the object keeps it
 * (`offset`, see slot_offset: PyObject_GetAttr on a slot cost as much as writing the line it is
 * written in); PyObject_GetAttr for a property or an unset slot (AttributeError). */
static PyObject *field_at(PyObject *object, Py_ssize_t offset, PyObject *name)
{
    PyObject *value = offset < 0 ? NULL : *(PyObject **)((char *)object + offset);
    return value != NULL ? Py_NewRef(value) : PyObject_GetAttr(object, name);
}

static PyObject *field_of(PyObject *object, PyObject *name)
{
    return field_at(object, slot_offset(Py_TYPE(object), name), name);
}

/* Where the decisions of one class keep each field (slot_offset of each name), found for the
 * class as it is at one version (a class changed since has another: found again), not looked
 * up again for each line. Version tags are never reused, so a class and its tag name one layout. */
static struct {
    PyTypeObject *type;
    unsigned int version;
    Py_ssize_t offset[NAMES];
} layout;

static void decision_layout(PyTypeObject *type, Py_ssize_t *offset)
{
    if (layout.type != type || layout.version != type->tp_version_tag
        || !(type->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG)) {
        for (int i = 0; i < NAMES; i++)
            layout.offset[i] = slot_offset(type, names[i]); /* gives the class a tag */
        int tagged = (type->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG) != 0;
        layout.type = tagged ? type : NULL;
        layout.version = type->tp_version_tag;
    }
    memcpy(offset, layout.offset, sizeof layout.offset);
}

/* What a _WrittenOnce (a finding, a decision's policy references) wrote once for the form (a
 * new reference), or NULL. */
static PyObject *written(PyObject *part, PyObject *compact)
{
    PyObject *by_form = field_of(part, names[WRITTEN]), *found = NULL;
    if (by_form != NULL && PyDict_CheckExact(by_form))
        found = PyDict_GetItem(by_form, compact);
    if (found != NULL && PyBytes_CheckExact(found)) {
        Py_INCREF(found);
        Py_DECREF(by_form);
        return found;
    }
    Py_XDECREF(by_form);
    PyErr_Clear(); /* not written yet: the part writes itself */
    found = PyObject_CallMethodOneArg(part, names[WRITE], compact);
    if (found != NULL && !PyBytes_CheckExact(found))
        Py_CLEAR(found);
    return found;
}

static int put_findings(Buffer *out, PyObject *findings, PyObject *compact)
{
    if (!PyList_CheckExact(findings) || PUT(out, "[") < 0)
        return UNSURE;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(findings); i++) {
        PyObject *part = Py_NewRef(PyList_GET_ITEM(findings, i)); /* Python may run: kept */
        PyObject *bytes = written(part, compact);
        Py_DECREF(part);
        int failed = bytes == NULL || (i && PUT(out, ",") < 0) ||
                     put(out, PyBytes_AS_STRING(bytes), PyBytes_GET_SIZE(bytes)) < 0;
        Py_XDECREF(bytes);
        if (failed)
            return UNSURE;
    }
    return PUT(out, "]");
}

/* A key and its value; the key a literal with its comma: ",\"region\":". */
#define PUT_FIELD(out, key, value) (PUT(out, key) < 0 || put_value(out, value, 0) < 0)

/* The fields of a decision, read once: new references (or NULL) */
typedef struct {
    PyObject *field[NAMES];
    PyObject *policies; /* the judge's references as written */
} Fields;

static int read_fields(PyObject *decision, Fields *got)
{
    static const int wanted[] = {CALL_ID, DECISION, AT, VIOLATIONS, WARNINGS, SEARCH, TIMEZONES,
                                 REGION, COUNTRY, LOCATED_BY, LOCATION_NOTE, REFS, META, TRACE};
    Py_ssize_t offset[NAMES]; /* a copy: Python code run meanwhile may write other lines */
    decision_layout(Py_TYPE(decision), offset);
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++)
        if ((got->field[wanted[i]] = field_at(decision, offset[wanted[i]], names[wanted[i]]))
            == NULL)
            return UNSURE;
    /* next_allowed_at computed now, if it was not (the property) */
    int next = got->field[SEARCH] == Py_None ? NEXT_VALUE : NEXT_ALLOWED_AT;
    got->field[NEXT_VALUE] = field_at(decision, offset[next], names[next]);
    return got->field[NEXT_VALUE] == NULL ? UNSURE : OK;
}

/* The decision's line; *allowed says whether it allows the call. */
static int put_decision(Buffer *out, Fields *got, PyObject *compact, int *allowed)
{
    PyObject **field = got->field;
    PyObject *trace = field[TRACE];
    if (field[REFS] == Py_None || !(PyList_CheckExact(trace) && PyList_GET_SIZE(trace) == 0))
        return UNSURE; /* policies written one by one, a trace: the reference path's */
    PyObject *refs = got->policies = written(field[REFS], compact);
    if (refs == NULL)
        return UNSURE;
    if ((*allowed = PyObject_RichCompareBool(field[DECISION], allow, Py_EQ)) < 0)
        return UNSURE;
    if (field[CALL_ID] == Py_None ? PUT(out, "{\"decision\":") < 0
                                  : PUT_FIELD(out, "{\"id\":", field[CALL_ID]) ||
                                        PUT(out, ",\"decision\":") < 0)
        return UNSURE;
    if (put_value(out, field[DECISION], 0) < 0 ||
        (*allowed ? PUT(out, ",\"allowed\":true,\"at\":")
                  : PUT(out, ",\"allowed\":false,\"at\":")) < 0)
        return UNSURE;
    Py_ssize_t at_start = out->size;
    if (put_instant(out, field[AT]) < 0)
        return UNSURE;
    Py_ssize_t at_end = out->size;
    if (PUT(out, ",\"violations\":") < 0 || put_findings(out, field[VIOLATIONS], compact) < 0 ||
        PUT(out, ",\"warnings\":") < 0 || put_findings(out, field[WARNINGS], compact) < 0 ||
        PUT(out, ",\"next_allowed_at\":") < 0)
        return UNSURE;
    PyObject *after = field[NEXT_VALUE];
    if (after == field[AT]) { /* an allowed call's: its own instant, written again */
        if (out->room - out->size < at_end - at_start && grow(out, at_end - at_start) < 0)
            return UNSURE;
        memcpy(out->data + out->size, out->data + at_start, (size_t)(at_end - at_start));
        out->size += at_end - at_start;
    } else if (after == Py_None ? PUT(out, "null") < 0 : put_instant(out, after) < 0) {
        return UNSURE;
    }
    if (PUT_FIELD(out, ",\"timezones\":", field[TIMEZONES]) ||
        PUT_FIELD(out, ",\"region\":", field[REGION]) ||
        PUT_FIELD(out, ",\"country\":", field[COUNTRY]) ||
        PUT_FIELD(out, ",\"located_by\":", field[LOCATED_BY]) ||
        PUT_FIELD(out, ",\"location_note\":", field[LOCATION_NOTE]) ||
        PUT(out, ",\"policies\":") < 0 ||
        put(out, PyBytes_AS_STRING(refs), PyBytes_GET_SIZE(refs)) < 0 ||
        (field[META] != Py_None && PUT_FIELD(out, ",\"meta\":", field[META])))
        return UNSURE;
    return PUT(out, "}\n");
}

/* write_lines(out, made, start, compact, decision_type, denials) -> (stop, allowed) */
static PyObject *write_lines(PyObject *module, PyObject *const *args, Py_ssize_t count)
{
    if (count != 6 || !PyByteArray_Check(args[0]) || !PyList_CheckExact(args[1]) ||
        !PyLong_Check(args[2]) || !PyBool_Check(args[3]) || !PyType_Check(args[4]) ||
        !PyList_CheckExact(args[5])) {
        PyErr_SetString(PyExc_TypeError,
                        "write_lines(out, made, start, compact, decision_type, denials)");
        return NULL;
    }
    PyObject *made = args[1], *compact = args[3], *denials = args[5];
    PyTypeObject *decision_type = (PyTypeObject *)args[4];
    Py_ssize_t stop = PyLong_AsSsize_t(args[2]), allowed = 0;
    if (stop < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "write_lines: start < 0");
        return NULL;
    }
    Buffer out = take_buffer();
    for (; stop < PyList_GET_SIZE(made); stop++) {
        PyObject *item = PyList_GET_ITEM(made, stop);
        if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 2 ||
            PyTuple_GET_ITEM(item, 1) != Py_None ||
            !Py_IS_TYPE(PyTuple_GET_ITEM(item, 0), decision_type))
            break; /* no decision, or one that reserved an attempt */
        Fields got = {{NULL}, NULL};
        Py_ssize_t line_start = out.size;
        int allows = 0;
        Py_INCREF(item); /* kept while Python runs (a property, a zone): made may change */
        int done = read_fields(PyTuple_GET_ITEM(item, 0), &got) == OK &&
                   put_decision(&out, &got, compact, &allows) == OK;
        Py_DECREF(item);
        if (done && !allows)  /* a denial's findings, for the tally */
            done = PyList_SetSlice(denials, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX,
                                   got.field[VIOLATIONS]) == 0;
        for (int i = 0; i < NAMES; i++)
            Py_XDECREF(got.field[i]);
        Py_XDECREF(got.policies);
        if (!done) { /* the reference path writes it, and raises what it raises */
            PyErr_Clear();
            out.size = line_start;
            break;
        }
        allowed += allows;
    }
    PyObject *bytes = args[0];
    Py_ssize_t before = PyByteArray_GET_SIZE(bytes);
    int failed = out.size && PyByteArray_Resize(bytes, before + out.size) < 0;
    if (!failed && out.size)
        memcpy(PyByteArray_AS_STRING(bytes) + before, out.data, (size_t)out.size);
    give_back(&out);
    return failed ? NULL : Py_BuildValue("nn", stop, allowed);
}

static PyMethodDef methods[] = {
    {"write_lines", (PyCFunction)(void (*)(void))write_lines, METH_FASTCALL,
     "write_lines(out, made, start, compact, decision_type, denials) -> (stop, allowed): see "
     "tools/decidework.py, write_lines."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_linewriter",
    "The compiled line writer of ringfence decide (see tools/decidework.py, write_lines).", -1,
    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__linewriter(void)
{
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return NULL;
    fill_escapes();
    for (int i = 0; i < NAMES; i++)
        if ((names[i] = PyUnicode_InternFromString(name_texts[i])) == NULL)
            return NULL;
    if ((allow = PyUnicode_InternFromString("allow")) == NULL ||
        (utcoffset_name = PyUnicode_InternFromString("utcoffset")) == NULL ||
        (suffixes = PyDict_New()) == NULL)
        return NULL;
    PyObject *orjson = PyImport_ImportModule("orjson");
    if (orjson == NULL)
        return NULL;
    dumps = PyObject_GetAttrString(orjson, "dumps");
    Py_DECREF(orjson);
    PyObject *zoneinfo = PyImport_ImportModule("zoneinfo");
    if (dumps == NULL || zoneinfo == NULL)
        return NULL;
    zone_info = (PyTypeObject *)PyObject_GetAttrString(zoneinfo, "ZoneInfo");
    Py_DECREF(zoneinfo);
    if (zone_info == NULL)
        return NULL;
    return PyModule_Create(&module_def);
}
