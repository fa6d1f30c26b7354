// The tests start the same local services as `npm start` and the benchmark.
export * from '../../local/services';
