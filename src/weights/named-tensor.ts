// The host tensor of the weights layer: a state-dict entry as float32 values in C order (OIHW for
// convolutions), whatever precision the file stored it in.
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}
