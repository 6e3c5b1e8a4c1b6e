import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { ServerClock } from './lib/clock';
import { selectTransport, type WailsGlobals } from './lib/transport/select';

async function start() {
  const target = document.getElementById('app');
  if (!target) throw new Error('#app is missing from index.html');
  const transport = await selectTransport(window as unknown as WailsGlobals);
  mount(App, { target, props: { transport, clock: new ServerClock() } });
}

void start();
