// Placeholder products for the shop landing page (the catalogue is out of scope).

export interface Product {
  id: string;
  name: string;
  kind: string;
  blurb: string;
  price: string;
}

export const PRODUCTS: readonly Product[] = [
  { id: 'tape-echo', name: 'Tape Echo', kind: 'Delay', blurb: 'Warm, wobbly repeats with wow, flutter and saturation.', price: '€49' },
  { id: 'glass-verb', name: 'Glass Verb', kind: 'Reverb', blurb: 'Algorithmic halls and plates with a crystalline tail.', price: '€69' },
  { id: 'punch-comp', name: 'Punch Comp', kind: 'Dynamics', blurb: 'Bus compressor with a transient-friendly detector.', price: '€59' },
  { id: 'wavetable-x', name: 'Wavetable X', kind: 'Synth', blurb: 'Morphing wavetable synth with 400 presets.', price: '€129' },
  { id: 'drum-forge', name: 'Drum Forge', kind: 'Drums', blurb: 'Sample-based drum machine with per-pad FX.', price: '€89' },
  { id: 'pitch-pilot', name: 'Pitch Pilot', kind: 'Vocal', blurb: 'Natural pitch correction and formant control.', price: '€79' },
];
