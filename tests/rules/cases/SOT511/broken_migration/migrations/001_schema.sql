-- customers and their orders
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,,
);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    total REAL NOT NULL
);

CREATE INDEX idx_orders_customer ON orders (customer_id);
