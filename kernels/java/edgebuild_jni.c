// edgebuild_jni.c: the JNI half of dev.edgebuild.Model: each native method is one or two calls of edgebuild.h.
#include <jni.h>
#include <stdio.h>
#include <stdlib.h>

#include "edgebuild/edgebuild.h"

static void throw_java(JNIEnv* env, const char* cls, const char* msg) {
  jclass c = (*env)->FindClass(env, cls);
  if (c != NULL) (*env)->ThrowNew(env, c, msg);
}

static void throw_status(JNIEnv* env, eb_model* m, eb_status s, const char* what) {
  char msg[EB_ERROR_MAX + 64];
  snprintf(msg, sizeof msg, "%s: %s: %s", what, eb_status_name(s), m != NULL ? eb_model_last_error(m) : "");
  throw_java(
      env,
      s == EB_ERR_SHAPE || s == EB_ERR_ARGUMENT ? "java/lang/IllegalArgumentException" : "java/lang/RuntimeException",
      msg);
}

JNIEXPORT jlong JNICALL Java_dev_edgebuild_Model_nativeOpen(JNIEnv* env, jclass cls, jstring path) {
  (void)cls;
  if (path == NULL) {
    throw_java(env, "java/lang/NullPointerException", "path");
    return 0;
  }
  const char* p = (*env)->GetStringUTFChars(env, path, NULL);
  if (p == NULL) return 0;  // OutOfMemoryError pending
  char err[EB_ERROR_MAX];
  eb_model* m = NULL;
  eb_status s = eb_model_open_file(p, &m, err, sizeof err);
  (*env)->ReleaseStringUTFChars(env, path, p);
  if (s != EB_OK) {
    char msg[EB_ERROR_MAX + 32];
    snprintf(msg, sizeof msg, "%s: %s", eb_status_name(s), err);
    throw_java(env, "java/lang/IllegalArgumentException", msg);
    return 0;
  }
  return (jlong)(intptr_t)m;
}

JNIEXPORT void JNICALL Java_dev_edgebuild_Model_nativeClose(JNIEnv* env, jclass cls, jlong h) {
  (void)env, (void)cls;
  eb_model_close((eb_model*)(intptr_t)h);
}

JNIEXPORT jint JNICALL Java_dev_edgebuild_Model_nativeCount(JNIEnv* env, jclass cls, jlong h, jboolean outputs) {
  (void)env, (void)cls;
  eb_model* m = (eb_model*)(intptr_t)h;
  return (jint)(outputs ? eb_model_num_outputs(m) : eb_model_num_inputs(m));
}

static int info_of(JNIEnv* env, eb_model* m, jboolean output, jint index, eb_tensor_info* info) {
  eb_status s =
      index < 0 ? EB_ERR_ARGUMENT
                : (output ? eb_model_output_info(m, (size_t)index, info) : eb_model_input_info(m, (size_t)index, info));
  if (s != EB_OK) throw_status(env, m, s, output ? "output index" : "input index");
  return s == EB_OK;
}

JNIEXPORT jintArray JNICALL Java_dev_edgebuild_Model_nativeShape(JNIEnv* env, jclass cls, jlong h, jboolean output,
                                                                 jint index) {
  (void)cls;
  eb_tensor_info info;
  if (!info_of(env, (eb_model*)(intptr_t)h, output, index, &info)) return NULL;
  jintArray a = (*env)->NewIntArray(env, (jsize)info.rank);
  if (a != NULL) (*env)->SetIntArrayRegion(env, a, 0, (jsize)info.rank, (const jint*)info.dims);
  return a;
}

JNIEXPORT jstring JNICALL Java_dev_edgebuild_Model_nativeOutputName(JNIEnv* env, jclass cls, jlong h, jint index) {
  (void)cls;
  eb_tensor_info info;
  if (!info_of(env, (eb_model*)(intptr_t)h, JNI_TRUE, index, &info)) return NULL;
  return (*env)->NewStringUTF(env, info.name);
}

JNIEXPORT jobjectArray JNICALL Java_dev_edgebuild_Model_nativeRun(JNIEnv* env, jclass cls, jlong h,
                                                                  jobjectArray inputs) {
  (void)cls;
  eb_model* m = (eb_model*)(intptr_t)h;
  const size_t n_in = eb_model_num_inputs(m), n_out = eb_model_num_outputs(m);
  if (inputs == NULL || (size_t)(*env)->GetArrayLength(env, inputs) != n_in) {
    char msg[96];
    snprintf(msg, sizeof msg, "the model has %zu input(s)", n_in);
    throw_java(env, "java/lang/IllegalArgumentException", msg);
    return NULL;
  }
  for (size_t i = 0; i < n_in; ++i) {
    jfloatArray x = (jfloatArray)(*env)->GetObjectArrayElement(env, inputs, (jsize)i);
    if (x == NULL) {
      throw_java(env, "java/lang/NullPointerException", "input array");
      return NULL;
    }
    jfloat* data = (*env)->GetFloatArrayElements(env, x, NULL);
    if (data == NULL) return NULL;
    eb_status s = eb_model_set_input(m, i, data, (size_t)(*env)->GetArrayLength(env, x));
    (*env)->ReleaseFloatArrayElements(env, x, data, JNI_ABORT);
    (*env)->DeleteLocalRef(env, x);
    if (s != EB_OK) {
      throw_status(env, m, s, "set input");
      return NULL;
    }
  }
  eb_status s = eb_model_invoke(m);
  if (s != EB_OK) {
    throw_status(env, m, s, "invoke");
    return NULL;
  }
  jclass float_array = (*env)->FindClass(env, "[F");
  if (float_array == NULL) return NULL;
  jobjectArray result = (*env)->NewObjectArray(env, (jsize)n_out, float_array, NULL);
  for (size_t i = 0; result != NULL && i < n_out; ++i) {
    eb_tensor_info info;
    eb_model_output_info(m, i, &info);
    jfloatArray y = (*env)->NewFloatArray(env, (jsize)info.num_elements);
    if (y == NULL) return NULL;
    jfloat* data = (*env)->GetFloatArrayElements(env, y, NULL);
    if (data == NULL) return NULL;
    s = eb_model_get_output(m, i, data, info.num_elements);
    (*env)->ReleaseFloatArrayElements(env, y, data, 0);
    if (s != EB_OK) {
      throw_status(env, m, s, "get output");
      return NULL;
    }
    (*env)->SetObjectArrayElement(env, result, (jsize)i, y);
    (*env)->DeleteLocalRef(env, y);
  }
  return result;
}
