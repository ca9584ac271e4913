// Model.java: an edgebuild model (.ebm) for Java and Android apps, over the C API through JNI (edgebuild_jni.c).
package dev.edgebuild;

/**
 * A loaded edgebuild model. Not thread-safe: use one Model per thread. Close it (try-with-resources) to free the
 * native memory.
 *
 * <pre>
 * try (Model m = Model.open("model.ebm")) {
 *   float[][] y = m.run(x);  // one float[] per model input, NCHW order; one float[] per output
 * }
 * </pre>
 */
public final class Model implements AutoCloseable {
  static {
    // -Dedgebuild.jni=/path/libedgebuild_jni.so loads a library that is not on java.library.path.
    String path = System.getProperty("edgebuild.jni");
    if (path != null) {
      System.load(path);
    } else {
      System.loadLibrary("edgebuild_jni");
    }
  }

  private long handle;

  private Model(long handle) {
    this.handle = handle;
  }

  /** Loads a .ebm file; throws IllegalArgumentException with the runtime's message if it is not a valid model. */
  public static Model open(String path) {
    return new Model(nativeOpen(path));
  }

  /** Runs the model on one float array per input (element counts must match) and returns one array per output. */
  public float[][] run(float[]... inputs) {
    return nativeRun(live(), inputs);
  }

  public int numInputs() {
    return nativeCount(live(), false);
  }

  public int numOutputs() {
    return nativeCount(live(), true);
  }

  /** The shape of input {@code index} (PyTorch's order, e.g. N, C, H, W). */
  public int[] inputShape(int index) {
    return nativeShape(live(), false, index);
  }

  public int[] outputShape(int index) {
    return nativeShape(live(), true, index);
  }

  public String outputName(int index) {
    return nativeOutputName(live(), index);
  }

  @Override
  public void close() {
    if (handle != 0) {
      nativeClose(handle);
      handle = 0;
    }
  }

  private long live() {
    if (handle == 0) throw new IllegalStateException("model is closed");
    return handle;
  }

  private static native long nativeOpen(String path);

  private static native void nativeClose(long handle);

  private static native float[][] nativeRun(long handle, float[][] inputs);

  private static native int nativeCount(long handle, boolean outputs);

  private static native int[] nativeShape(long handle, boolean output, int index);

  private static native String nativeOutputName(long handle, int index);
}
