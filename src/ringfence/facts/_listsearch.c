/* Finding a number in a number list's sorted keys, in C: listindex.py's reference searches
 * without a Python int made per step (about 0.1 µs a lookup besides the memory it reads,
 * against about 0.5 µs of interpreter work).
 *
 * A Finder holds the sorted unique int64 keys, the bucket directory (listindex.Directory:
 * bucket b of key k is (k - base) >> shift, its keys at positions bounds[b] to bounds[b + 1])
 * and the values stored beside the keys, if any, as buffers (memoryviews of the memory-mapped
 * file or of arrays), and the reference searches themselves. A number spelt as the call reader
 * gives it ("+" and up to 18 ASCII digits) is found here; anything else (other text int()
 * would read, or not, or not a str) goes to the reference search, so the two agree on every
 * such input by construction, and tests/test_core_numberlist.py holds them equal on the rest.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    PyObject_HEAD
    Py_buffer keys;    /* int64, format "q" */
    Py_buffer bounds;  /* uint32 ("I") or int64 ("q") */
    Py_buffer values;  /* int64 beside each key; obj NULL when the list stores none */
    int64_t base;
    int shift;         /* 0 to 65 (see listindex.build_directory) */
    PyObject *missing; /* the value of every key when the list stores none */
    /* The reference searches (e164 -> bool, e164 -> int | None). They refer to the buffers'
     * owners, never to a Finder, so a Finder is in no reference cycle and need not be tracked
     * by the GC. */
    PyObject *contains;
    PyObject *value;
} Finder;

/* The key of "+" and 1 to 18 ASCII digits (which int() reads alike, and int64 holds); -1 for
 * anything else, which the reference searches judge. */
static int64_t plain_key(PyObject *e164)
{
    if (!PyUnicode_CheckExact(e164) || !PyUnicode_IS_COMPACT_ASCII(e164))
        return -1;
    Py_ssize_t size = PyUnicode_GET_LENGTH(e164);
    const char *text = (const char *)(((PyASCIIObject *)e164) + 1);
    if (size < 2 || size > 19 || text[0] != '+')
        return -1;
    int64_t key = 0;
    for (Py_ssize_t i = 1; i < size; i++) {
        unsigned digit = (unsigned char)text[i] - '0';
        if (digit > 9)
            return -1;
        key = key * 10 + digit;
    }
    return key;
}

/* The position of key (>= 0) in the keys, or -1 when it is not there. A bucket past either
 * end of the directory holds nothing; bounds that do not fit the keys (a damaged file) find
 * nothing rather than read past them. */
static Py_ssize_t search(const Finder *self, int64_t key)
{
    if (key < self->base)
        return -1;
    uint64_t bucket = self->shift >= 64 ? 0 : ((uint64_t)key - (uint64_t)self->base) >> self->shift;
    Py_ssize_t buckets = self->bounds.len / self->bounds.itemsize - 1;
    if (bucket >= (uint64_t)buckets)
        return -1;
    int64_t lo, hi;
    if (self->bounds.itemsize == 4) {
        const uint32_t *bounds = (const uint32_t *)self->bounds.buf;
        lo = bounds[bucket];
        hi = bounds[bucket + 1];
    } else {
        const int64_t *bounds = (const int64_t *)self->bounds.buf;
        lo = bounds[bucket];
        hi = bounds[bucket + 1];
    }
    if (lo < 0 || hi < lo || hi > (int64_t)(self->keys.len / 8))
        return -1;
    const int64_t *keys = (const int64_t *)self->keys.buf;
    while (lo < hi) { /* the first key >= key, as bisect_left */
        int64_t mid = lo + (hi - lo) / 2;
        if (keys[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < (int64_t)(self->keys.len / 8) && keys[lo] == key ? (Py_ssize_t)lo : -1;
}

static PyObject *finder_contains(PyObject *op, PyObject *e164)
{
    Finder *self = (Finder *)op;
    int64_t key = plain_key(e164);
    if (key < 0)
        return PyObject_CallOneArg(self->contains, e164);
    return PyBool_FromLong(search(self, key) >= 0);
}

static PyObject *finder_value(PyObject *op, PyObject *e164)
{
    Finder *self = (Finder *)op;
    int64_t key = plain_key(e164);
    if (key < 0)
        return PyObject_CallOneArg(self->value, e164);
    Py_ssize_t at = search(self, key);
    if (at < 0)
        Py_RETURN_NONE;
    if (self->values.obj == NULL)
        return Py_NewRef(self->missing);
    return PyLong_FromLongLong(((const int64_t *)self->values.buf)[at]);
}

static int take_buffer(PyObject *source, Py_buffer *view, const char *what, int narrow_ok)
{
    if (PyObject_GetBuffer(source, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    const char *format = view->format ? view->format : "B";
    int wide = strcmp(format, "q") == 0 && view->itemsize == 8;
    int narrow = narrow_ok && strcmp(format, "I") == 0 && view->itemsize == 4;
    if (!wide && !narrow) {
        PyErr_Format(PyExc_TypeError, "%s: expected a contiguous buffer of format %s, not %s",
                     what, narrow_ok ? "q or I" : "q", format);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *finder_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"keys", "bounds", "base", "shift", "values", "missing", "contains",
                            "value", NULL};
    PyObject *keys, *bounds, *values, *missing, *contains, *value;
    long long base;
    int shift;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOLiOOOO:Finder", names, &keys, &bounds,
                                     &base, &shift, &values, &missing, &contains, &value))
        return NULL;
    if (shift < 0 || !PyCallable_Check(contains) || !PyCallable_Check(value)) {
        PyErr_SetString(PyExc_ValueError, "Finder: a negative shift, or a search not callable");
        return NULL;
    }
    Finder *self = (Finder *)type->tp_alloc(type, 0); /* zeroed: no buffer held yet */
    if (self == NULL)
        return NULL;
    self->base = (int64_t)base;
    self->shift = shift;
    self->missing = Py_NewRef(missing);
    self->contains = Py_NewRef(contains);
    self->value = Py_NewRef(value);
    if (take_buffer(keys, &self->keys, "keys", 0) < 0
        || take_buffer(bounds, &self->bounds, "bounds", 1) < 0
        || (values != Py_None && take_buffer(values, &self->values, "values", 0) < 0)) {
        Py_DECREF(self);
        return NULL;
    }
    if (self->bounds.len == 0
        || (self->values.obj != NULL && self->values.len != self->keys.len)) {
        PyErr_SetString(PyExc_ValueError, "Finder: no directory, or values not one per key");
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void finder_dealloc(Finder *self)
{
    Py_buffer *held[] = {&self->keys, &self->bounds, &self->values};
    for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++)
        if (held[i]->obj != NULL)
            PyBuffer_Release(held[i]);
    Py_CLEAR(self->missing);
    Py_CLEAR(self->contains);
    Py_CLEAR(self->value);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef finder_methods[] = {
    {"contains", finder_contains, METH_O, "contains(e164) -> bool: whether the number is a key."},
    {"value", finder_value, METH_O,
     "value(e164) -> int | None: the value stored beside the number's key (missing when the "
     "list stores none), None when it is not a key."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject FinderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ringfence.facts._listsearch.Finder",
    .tp_basicsize = sizeof(Finder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Finder(keys, bounds, base, shift, values, missing, contains, value): finds "
              "numbers in sorted keys.",
    .tp_new = finder_new,
    .tp_dealloc = (destructor)finder_dealloc,
    .tp_methods = finder_methods,
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_listsearch",
    "Finding numbers in a number list's sorted keys (see listindex.py): a faster road to the "
    "reference finder's answer.", -1, NULL, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__listsearch(void)
{
    if (PyType_Ready(&FinderType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "Finder", (PyObject *)&FinderType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
