/**
 * A small, deterministic demo shop: products in a few categories, and users with one or two
 * favourite categories whose browsing, carting and buying make item similarities worth showing.
 */
import { seededRandom } from '@lambdarec/domain';

export interface DemoProduct {
  productId: string;
  category: string;
  title: string;
  price: number;
  inStock: boolean;
}

export interface DemoEvent {
  userId: string;
  sessionId: string;
  type: 'view' | 'click' | 'add_to_cart' | 'purchase';
  productId: string;
  category: string;
  timestamp: string;
  value?: number;
}

const CATEGORIES = ['tea', 'coffee', 'baking', 'stationery', 'garden', 'candles', 'toys', 'kitchen'] as const;
const NOUNS: Record<(typeof CATEGORIES)[number], string[]> = {
  tea: ['Earl Grey', 'Sencha', 'Rooibos', 'Assam', 'Chai', 'Mint', 'Oolong', 'Darjeeling', 'Jasmine', 'Camomile'],
  coffee: ['Espresso beans', 'Filter roast', 'Moka pot', 'Grinder', 'Decaf', 'Cold brew kit', 'Milk frother', 'Dripper', 'Papers', 'Cups'],
  baking: ['Flour', 'Whisk', 'Loaf tin', 'Piping bags', 'Vanilla', 'Cake stand', 'Scales', 'Rolling pin', 'Cooling rack', 'Sprinkles'],
  stationery: ['Notebook', 'Fountain pen', 'Ink', 'Washi tape', 'Planner', 'Pencils', 'Eraser', 'Ruler', 'Envelopes', 'Stamps'],
  garden: ['Trowel', 'Seeds', 'Gloves', 'Watering can', 'Pots', 'Compost', 'Secateurs', 'Kneeler', 'Labels', 'Twine'],
  candles: ['Pillar candle', 'Tealights', 'Wick trimmer', 'Holder', 'Soy wax', 'Matches', 'Snuffer', 'Scented jar', 'Taper', 'Lantern'],
  toys: ['Puzzle', 'Kite', 'Blocks', 'Yo-yo', 'Marbles', 'Jigsaw', 'Spinning top', 'Card game', 'Plush bear', 'Train set'],
  kitchen: ['Chef knife', 'Chopping board', 'Apron', 'Tea towel', 'Spatula', 'Colander', 'Peeler', 'Grater', 'Timer', 'Ladle'],
};

export function demoCatalog(): DemoProduct[] {
  const rnd = seededRandom(7);
  return CATEGORIES.flatMap((category) =>
    NOUNS[category].map((noun, i) => ({
      productId: `${category}-${i + 1}`,
      category,
      title: noun,
      price: Math.round((3 + rnd() * 60) * 100) / 100,
      // A couple of products are sold out, to show they are never recommended.
      inStock: !(i === 9 && (category === 'tea' || category === 'toys')),
    })),
  );
}

export function demoEvents({ users = 60, now = Date.now() }: { users?: number; now?: number } = {}): DemoEvent[] {
  const rnd = seededRandom(42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  const catalog = demoCatalog();
  const byCategory = new Map(CATEGORIES.map((c) => [c, catalog.filter((p) => p.category === c)]));
  const events: DemoEvent[] = [];
  for (let u = 1; u <= users; u++) {
    const userId = `demo-user-${u}`;
    const favourites = rnd() < 0.5 ? [pick(CATEGORIES)] : [pick(CATEGORIES), pick(CATEGORIES)];
    // Within a favourite category, each user prefers a few products (the head of the list more often).
    const sessions = 2 + Math.floor(rnd() * 4);
    for (let s = 0; s < sessions; s++) {
      const sessionStart = now - Math.floor((1 + rnd() * 29) * 86_400_000);
      const sessionId = `${userId}-s${s + 1}`;
      const steps = 3 + Math.floor(rnd() * 8);
      for (let step = 0; step < steps; step++) {
        const category = rnd() < 0.85 ? pick(favourites) : pick(CATEGORIES);
        const products = byCategory.get(category)!;
        const product = products[Math.min(products.length - 1, Math.floor(Math.pow(rnd(), 1.6) * products.length))]!;
        const roll = rnd();
        const type = roll < 0.62 ? 'view' : roll < 0.8 ? 'click' : roll < 0.92 ? 'add_to_cart' : 'purchase';
        events.push({
          userId,
          sessionId,
          type,
          productId: product.productId,
          category,
          timestamp: new Date(sessionStart + step * 45_000).toISOString(),
          ...(type === 'purchase' ? { value: product.price } : {}),
        });
      }
    }
  }
  return events.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
}
