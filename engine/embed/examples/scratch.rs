use std::borrow::Cow;
use std::time::Instant;
use candle_core::quantized::{GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{Device, Module, Tensor};
fn main() {
    let dev = Device::Cpu;
    for (dtype, k) in [(GgmlDType::Q8_0, 512usize), (GgmlDType::Q4_0, 384), (GgmlDType::Q8_0, 384)] {
        for m in [1usize, 27, 28, 64, 440] {
            let n = 1152;
            let bytes = vec![1u8; n * k / 32 * dtype.type_size()];
            let mut bytes = bytes;
            for (i, b) in bytes.iter_mut().enumerate() { *b = (i * 7 % 13) as u8; }
            let qt = QTensor::new(QStorage::from_data(Cow::Owned(bytes), &dev, dtype).unwrap(), (n, k)).unwrap();
            let mm = QMatMul::from_qtensor(qt).unwrap();
            let x = Tensor::randn(0f32, 1.0, (m, k), &dev).unwrap();
            mm.forward(&x).unwrap();
            let t0 = Instant::now();
            let reps = 50;
            for _ in 0..reps { mm.forward(&x).unwrap(); }
            let us = t0.elapsed().as_secs_f64() * 1e6 / reps as f64;
            println!("{dtype:?} k={k} m={m}: {us:.0} us  ({:.1} GFLOP/s)", 2.0 * (m * n * k) as f64 / us / 1e3);
        }
    }
}
