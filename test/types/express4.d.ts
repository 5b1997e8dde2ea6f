// `express4` is a dev alias of express@4 used to run the adapter tests on Express 4 too;
// its API is typed with @types/express (v5), which covers what the tests use.
declare module 'express4' {
  import express from 'express';
  export default express;
}
