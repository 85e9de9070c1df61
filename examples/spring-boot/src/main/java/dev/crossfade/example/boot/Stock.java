package dev.crossfade.example.boot;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.stereotype.Component;

/** Reserved quantities per SKU; a real shop keeps these in its database. */
@Component
public class Stock {
    private final Map<String, Integer> reserved = new ConcurrentHashMap<>();

    void reserve(String sku, int quantity) {
        reserved.merge(sku, quantity, Integer::sum);
    }

    public int reserved(String sku) {
        return reserved.getOrDefault(sku, 0);
    }
}
