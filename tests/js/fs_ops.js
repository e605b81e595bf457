const fs = require('fs');
const path = process.argv[2];
fs.writeFile(path, 'hello from node\n', (e) => {
  if (e) throw e;
  fs.readFile(path, 'utf8', (e, d) => {
    if (e) throw e;
    fs.stat(path, (e, st) => {
      if (e) throw e;
      console.log('read:', d.trim(), 'size:', st.size);
      fs.unlink(path, (e) => console.log('unlink:', e));
    });
  });
});
