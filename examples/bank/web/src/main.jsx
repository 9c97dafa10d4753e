// Entry: asks the backend where the hub is, then renders the app.
import { createRoot } from 'react-dom/client';
import { App } from './App.jsx';
import { setFreshMode } from './api.js';
import './style.css';

const root = createRoot(document.getElementById('root'));
fetch('/api/config')
  .then((response) => response.json())
  .then(({ hubUrl, freshMode }) => {
    setFreshMode(freshMode);
    root.render(<App hubUrl={hubUrl} />);
  })
  .catch((error) => root.render(<p className="fatal">Cannot reach the bank: {error.message}</p>));
