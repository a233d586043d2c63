it('import.meta', async () => {
  const d = typeof __dirname === 'string' ? __dirname : import.meta.dirname;
  console.log(d);
});
