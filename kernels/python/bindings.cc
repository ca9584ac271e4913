// bindings.cc: edgebuild._native, the pybind11 module over the C API (edgebuild.h) for in-process runs and tests.
//
// A thin layer: every check lives in the runtime; this file turns its status codes into Python exceptions
// (load errors: LoadError, a ValueError, "EB_ERR_...: message") and its buffers into NumPy arrays.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "edgebuild/edgebuild.h"

namespace py = pybind11;

namespace {

PyObject* g_load_error = nullptr;  // edgebuild._native.LoadError, set at import

[[noreturn]] void throw_load_error(eb_status status, const char* message) {
  PyErr_SetString(g_load_error, (std::string(eb_status_name(status)) + ": " + message).c_str());
  throw py::error_already_set();
}

const char* numpy_dtype(eb_dtype dtype) {
  switch (dtype) {
    case EB_DTYPE_INT8: return "int8";
    case EB_DTYPE_INT32: return "int32";
    default: return "float32";
  }
}

// Names come from the artifact and may be any bytes; invalid UTF-8 becomes U+FFFD rather than an exception.
py::str name_str(const char* s) {
  PyObject* o = PyUnicode_DecodeUTF8(s, (py::ssize_t)std::strlen(s), "replace");
  if (o == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(o);
}

std::vector<py::ssize_t> dims_of(const eb_tensor_info& info) {
  return std::vector<py::ssize_t>(info.dims, info.dims + info.rank);
}

std::string shape_text(const std::vector<py::ssize_t>& dims) {
  std::string s = "(";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + (dims.size() == 1 ? ",)" : ")");
}

py::list int_list(const int32_t* v, uint32_t n) {
  py::list out;
  for (uint32_t i = 0; i < n; ++i) out.append(v[i]);
  return out;
}

py::dict info_dict(const eb_tensor_info& info) {
  py::dict d;
  d["id"] = info.id;
  d["name"] = name_str(info.name);
  d["shape"] = py::tuple(py::cast(dims_of(info)));
  d["dtype"] = numpy_dtype(info.dtype);
  d["scale"] = info.scale;
  d["zero_point"] = info.zero_point;
  d["constant"] = info.is_constant != 0;
  return d;
}

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

class Model {
 public:
  static std::unique_ptr<Model> open_path(const py::object& path) {
    const std::string p = py::str(py::module_::import("os").attr("fspath")(path));
    char err[EB_ERROR_MAX];
    eb_model* m = nullptr;
    const eb_status s = eb_model_open_file(p.c_str(), &m, err, sizeof err);
    if (s != EB_OK) throw_load_error(s, err);
    return std::unique_ptr<Model>(new Model(m));
  }

  // Zero-copy for `bytes` (immutable; the model keeps a reference). Other buffers (bytearray, memoryview) become
  // bytes first: a buffer changed after load would void the loader's checks. The runtime needs a 16-aligned
  // address; CPython's bytes payload usually is, otherwise the model keeps an aligned copy.
  static std::unique_ptr<Model> open_bytes(const py::object& data) {
    py::object blob = data;
    if (!PyBytes_Check(blob.ptr())) {
      blob = py::reinterpret_steal<py::object>(PyBytes_FromObject(data.ptr()));
      if (!blob) throw py::error_already_set();
    }
    const char* ptr = PyBytes_AS_STRING(blob.ptr());
    const size_t size = (size_t)PyBytes_GET_SIZE(blob.ptr());
    std::unique_ptr<void, FreeDeleter> copy;
    const void* buffer = ptr;
    if (reinterpret_cast<uintptr_t>(ptr) % EB_BUFFER_ALIGNMENT != 0) {
      void* p = std::aligned_alloc(64, (size + 64) / 64 * 64);  // size rounded up, as aligned_alloc requires
      if (p == nullptr) throw std::bad_alloc();
      std::memcpy(p, ptr, size);
      copy.reset(p);
      buffer = p;
    }
    char err[EB_ERROR_MAX];
    eb_model* m = nullptr;
    const eb_status s = eb_model_open_memory(buffer, size, &m, err, sizeof err);
    if (s != EB_OK) throw_load_error(s, err);
    std::unique_ptr<Model> model(new Model(m));
    model->copy_ = std::move(copy);
    model->keepalive_ = blob;
    return model;
  }

  ~Model() { eb_model_close(m_); }
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  py::list graph_tensors(bool is_input) const {
    py::list out;
    const size_t n = is_input ? eb_model_num_inputs(m_) : eb_model_num_outputs(m_);
    for (size_t i = 0; i < n; ++i) {
      eb_tensor_info info;
      check(is_input ? eb_model_input_info(m_, i, &info) : eb_model_output_info(m_, i, &info));
      out.append(info_dict(info));
    }
    return out;
  }

  py::list run(const py::sequence& arrays) {
    const size_t n = eb_model_num_inputs(m_);
    if ((size_t)py::len(arrays) != n)
      throw py::value_error("the model has " + std::to_string(n) + " input(s) but " + std::to_string(py::len(arrays)) +
                            " array(s) were given");
    for (size_t i = 0; i < n; ++i) {
      eb_tensor_info info;
      check(eb_model_input_info(m_, i, &info));
      if (info.dtype == EB_DTYPE_INT32) {  // token ids
        py::array raw = py::array::ensure(arrays[i]);
        if (!raw || !(raw.dtype().kind() == 'i' || raw.dtype().kind() == 'u')) {
          PyErr_Clear();
          throw py::value_error("input " + std::to_string(i) + " ('" + std::string(name_str(info.name)) +
                                "') takes integer ids (int32 or int64)");
        }
        auto a = py::array_t<int32_t, py::array::c_style | py::array::forcecast>::ensure(arrays[i]);
        const std::vector<py::ssize_t> got(a.shape(), a.shape() + a.ndim()), want = dims_of(info);
        if (got != want)
          throw py::value_error("input " + std::to_string(i) + " ('" + std::string(name_str(info.name)) +
                                "') has shape " + shape_text(got) + " but the model expects " + shape_text(want));
        check(eb_model_set_input_int32(m_, i, a.data(), (size_t)a.size()));
        continue;
      }
      auto a = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(arrays[i]);
      if (!a) {
        PyErr_Clear();
        throw py::value_error("input " + std::to_string(i) + " is not convertible to a float32 array");
      }
      const std::vector<py::ssize_t> got(a.shape(), a.shape() + a.ndim()), want = dims_of(info);
      if (got != want)
        throw py::value_error("input " + std::to_string(i) + " ('" + std::string(name_str(info.name)) +
                              "') has shape " + shape_text(got) + " but the model expects " + shape_text(want));
      check(eb_model_set_input(m_, i, a.data(), (size_t)a.size()));
    }
    check(eb_model_invoke(m_));
    py::list out;
    for (size_t i = 0; i < eb_model_num_outputs(m_); ++i) {
      eb_tensor_info info;
      check(eb_model_output_info(m_, i, &info));
      py::array_t<float> y(dims_of(info));
      check(eb_model_get_output(m_, i, y.mutable_data(), info.num_elements));
      out.append(y);
    }
    return out;
  }

  // A copy of tensor `id`'s current bytes with its dtype and shape (intermediates hold the values of the last run
  // until the memory plan reuses their bytes).
  py::array tensor(size_t id) const {
    eb_tensor_info info;
    check(eb_model_tensor_info(m_, id, &info));
    const void* data;
    size_t bytes;
    check(eb_model_tensor_data(m_, id, &data, &bytes));
    py::array a(py::dtype(numpy_dtype(info.dtype)), dims_of(info));
    std::memcpy(a.mutable_data(), data, bytes);
    return a;
  }

  py::dict tensor_info(size_t id) const {
    eb_tensor_info info;
    check(eb_model_tensor_info(m_, id, &info));
    return info_dict(info);
  }

  py::dict op_info(size_t index) const {
    eb_op_info info;
    check(eb_model_op_info(m_, index, &info));
    py::dict d;
    d["name"] = name_str(info.name);
    d["type"] = info.type;
    d["opcode"] = info.opcode;
    d["inputs"] = int_list(info.inputs, info.num_inputs);
    d["outputs"] = int_list(info.outputs, info.num_outputs);
    d["params"] = int_list(info.params, info.num_params);
    return d;
  }

  py::list op_times_ns() const {
    py::list out;
    for (size_t i = 0; i < eb_model_num_ops(m_); ++i) {
      uint64_t ns = 0;
      check(eb_model_op_time_ns(m_, i, &ns));
      out.append(ns);
    }
    return out;
  }

  bool profiling() const { return profiling_; }
  void set_profiling(bool on) {
    profiling_ = on;
    eb_model_set_profiling(m_, on ? 1 : 0);
  }
  const eb_model* get() const { return m_; }

 private:
  explicit Model(eb_model* m) : m_(m) {}

  // Call errors (bad index, wrong element count) are ValueError with the runtime's message.
  void check(eb_status s) const {
    if (s != EB_OK) throw py::value_error(std::string(eb_status_name(s)) + ": " + eb_model_last_error(m_));
  }

  eb_model* m_;
  py::object keepalive_;                     // the bytes the model reads in place
  std::unique_ptr<void, FreeDeleter> copy_;  // or an aligned copy of them
  bool profiling_ = false;
};

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "edgebuild's native runtime (kernels/): load a .ebm artifact and run it in-process.";
  g_load_error = PyErr_NewExceptionWithDoc("edgebuild._native.LoadError",
                                           "A .ebm artifact failed to load; the message starts with the status name.",
                                           PyExc_ValueError, nullptr);
  if (g_load_error == nullptr) throw py::error_already_set();
  m.attr("LoadError") = py::handle(g_load_error);  // the module holds the reference for the interpreter's life
  m.attr("FORMAT_VERSION") = py::make_tuple(EB_FORMAT_VERSION_MAJOR, EB_FORMAT_VERSION_MINOR);

  // ISA paths (issue 3): which kernel paths this build contains and which this CPU runs.
  m.def(
      "compiled_isas", [] { return std::string(eb_compiled_isas()); }, "Comma-separated ISA paths in this build.");
  m.def(
      "available_isas", [] { return std::string(eb_available_isas()); }, "Comma-separated ISA paths this CPU runs.");
  m.def("default_threads", &eb_default_threads,
        "Threads for this process: its CPUs by affinity and cgroup quota, the fast cores of a big.LITTLE CPU.");
  m.def(
      "known_cpus", [] { return std::string(eb_known_cpus()); }, "Comma-separated core names EDGEBUILD_CPU accepts.");
  m.def(
      "detect_cpu",
      [] {
        const char *name, *cls;
        char source[64], err[512];
        const eb_status s = eb_detect_cpu(&name, &cls, source, sizeof source, err, sizeof err);
        if (s != EB_OK) throw_load_error(s, err);
        py::dict d;
        d["cpu"] = name;
        d["core_class"] = cls;
        d["source"] = std::string(source);
        return d;
      },
      "The core a model loaded now would pick kernel variants for: dict cpu, core_class, source (EDGEBUILD_CPU, or "
      "the MIDR of the CPUs the threads run on).");
  py::class_<Model>(m, "Model", "A loaded .ebm model with its own arena; not thread-safe.")
      .def(py::init(&Model::open_path), py::arg("path"), "Load a .ebm file (str or os.PathLike).")
      .def_static("from_bytes", &Model::open_bytes, py::arg("data"),
                  "Load from bytes; the model keeps a reference and reads the weights in place.")
      .def_property_readonly(
          "inputs", [](const Model& self) { return self.graph_tensors(true); },
          "Graph inputs: list of dicts id, name, shape, dtype, scale, zero_point, constant.")
      .def_property_readonly("outputs", [](const Model& self) { return self.graph_tensors(false); })
      .def("run", &Model::run, py::arg("inputs"),
           "Run once: float32 arrays in (shapes checked), list of float32 arrays out.")
      .def("tensor", &Model::tensor, py::arg("id"), "Copy of tensor id's current bytes with its dtype and shape.")
      .def("tensor_info", &Model::tensor_info, py::arg("id"))
      .def_property_readonly("num_tensors", [](const Model& self) { return eb_model_num_tensors(self.get()); })
      .def_property_readonly("num_ops", [](const Model& self) { return eb_model_num_ops(self.get()); })
      .def("op_info", &Model::op_info, py::arg("index"),
           "Dict name, type, opcode, inputs (tensor ids), outputs (tensor ids), params.")
      .def_property("profiling", &Model::profiling, &Model::set_profiling,
                    "When True, run() records per-op times (op_times_ns).")
      .def("op_times_ns", &Model::op_times_ns, "Per-op nanoseconds of the last profiled run.")
      .def_property_readonly("arena_bytes", [](const Model& self) { return eb_model_arena_bytes(self.get()); })
      .def_property_readonly("tracked_bytes", [](const Model& self) { return eb_model_tracked_bytes(self.get()); })
      .def_property_readonly("weights_bytes", [](const Model& self) { return eb_model_weights_bytes(self.get()); })
      // ISA paths (issue 3): the kernel path chosen at load (EDGEBUILD_ISA forces one) and the invoke threads.
      .def_property_readonly("isa", [](const Model& self) { return std::string(eb_model_isa(self.get())); })
      // The core the kernel variants were chosen for (EDGEBUILD_CPU forces one) and the GEMM variant that runs.
      .def_property_readonly("cpu", [](const Model& self) { return std::string(eb_model_cpu(self.get())); })
      .def_property_readonly("core_class",
                             [](const Model& self) { return std::string(eb_model_core_class(self.get())); })
      .def_property_readonly("cpu_source",
                             [](const Model& self) { return std::string(eb_model_cpu_source(self.get())); })
      .def_property_readonly(
          "gemm_kernel", [](const Model& self) { return std::string(eb_model_kernel(self.get(), "qs8-gemm")); },
          "The qs8-gemm variant the plans use (\"\" on the reference path).")
      .def(
          "kernel",
          [](const Model& self, const std::string& family) {
            return std::string(eb_model_kernel(self.get(), family.c_str()));
          },
          py::arg("family"),
          "The variant that runs a family's ops (\"qd8-gemm\": ...), \"\" for the reference kernels.")
      .def_property(
          "threads", [](const Model& self) { return eb_model_num_threads(self.get()); },
          [](Model& self, int n) {
            eb_model* m = const_cast<eb_model*>(self.get());
            if (eb_model_set_threads(m, n) != EB_OK) throw py::value_error(eb_model_last_error(m));
          },
          "Threads eb_model_invoke uses (1 at load); outputs are bit-identical for any count.")
      .def_property_readonly(
          "cpus", [](const Model& self) { return std::string(eb_model_cpus(self.get())); },
          "CPUs the threads run on as a Linux CPU list (\"4-7\"), fixed when threads is set (\"\" before).")
      .def_property_readonly(
          "pinned", [](const Model& self) { return eb_model_threads_pinned(self.get()) != 0; },
          "True when the worker threads are held to a big.LITTLE CPU's fast cores.");
}
